"""``bienmoc status``: marker status by group (built/total, conditions, gates, incidents)."""
from __future__ import annotations

import json

import click
import pandas as pd

from bienmoc.io.write import csv_text
from bienmoc.analysis.status import marker_status
from bienmoc.cli.main import (OUTPUT, _emit_table, _lang, _store, border_option,
                              fields_option, province_option)
from bienmoc.model.schema import SCHEMAS

def status_table(df: pd.DataFrame, by: list[str], lang: str) -> pd.DataFrame:
    """The readable status table: group keys, then built/total pairs side by side (numbers in
    the language's format), markers needing action, open incidents and the summary."""
    from bienmoc.fmt import fmt_number

    def pair(a, b):
        return [f"{fmt_number(x, lang)}/{fmt_number(y, lang)}" for x, y in zip(df[a], df[b])]

    rows = pd.DataFrame({k: df[k] for k in by})
    rows["markers_built_total"] = pair("markers_built", "markers_total")
    rows["stakes_built_total"] = pair("stakes_built", "stakes_total")
    rows["needs_action"] = df["needs_action"]
    rows["gates_open_total"] = pair("gates_open", "gates_total")
    rows["incidents_open"] = df["incidents_open"]
    rows["summary_vi"], rows["summary_en"] = df["summary_vi"], df["summary_en"]
    return rows


@click.command()
@click.option("--border", default=None, metavar="CODE", help="Only this border: CN, LA, KH.")
@click.option("--province", default=None, metavar="NAME", help="Only this province.")
@click.option("--by", "by", default="border,province", show_default=True, metavar="FIELDS",
              help="Comma-separated marker fields to group by ('' for one total row).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx"]),
              default="table", show_default=True)
@click.option("--output", "-o", default=None, type=OUTPUT,
              help="Output file (default: standard output; required for xlsx).")
@click.pass_context
def status(ctx, border, province, by, fmt, output):
    """Marker status by group: built/total markers and stakes, conditions, gates, incidents."""
    fields = fields_option(ctx, by, SCHEMAS["markers"].columns)
    df = marker_status(_store(ctx), by=fields, border=border_option(ctx, border),
                       province=province_option(ctx, province))
    if fmt == "xlsx":  # every count in its own numeric column
        _emit_table(df, fmt, output, layer="markers", sheet=("Tình trạng mốc", "Marker status"))
    elif output:
        _emit_table(df, fmt, output)
    elif fmt == "json":
        click.echo(json.dumps(df.to_dict(orient="records"), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(csv_text(df), nl=False)
    else:
        _emit_table(status_table(df, fields, _lang(ctx)), "table", output, layer="markers")
