"""``bienmoc status``: marker status by group (built/total, conditions, gates, incidents)."""
from __future__ import annotations

import json

import click
import pandas as pd

from bienmoc.io.write import csv_text
from bienmoc.analysis.status import marker_status
from bienmoc.cli.main import _store, border_option, fields_option, province_option
from bienmoc.model.schema import SCHEMAS

_TABLE_HEADERS = {
    "vi": {"border": "Tuyến", "province": "Tỉnh", "markers": "Cột mốc (xây/tổng)",
           "stakes": "Cọc dấu (xây/tổng)", "needs_action": "Mốc cần xử lý",
           "gates": "Cửa khẩu (mở/tổng)", "incidents_open": "Vụ việc chưa xong",
           "summary": "Tóm tắt"},
    "en": {"border": "Border", "province": "Province", "markers": "Markers (built/total)",
           "stakes": "Stakes (built/total)", "needs_action": "Needing action",
           "gates": "Gates (open/total)", "incidents_open": "Open incidents",
           "summary": "Summary"},
}


def status_table(df: pd.DataFrame, by: list[str], lang: str) -> str:
    """Human-readable status table (the numbers of the JSON output, side by side)."""
    h = _TABLE_HEADERS[lang]
    rows = pd.DataFrame({h.get(k, k): df[k] for k in by})
    rows[h["markers"]] = df["markers_built"].astype(str) + "/" + df["markers_total"].astype(str)
    rows[h["stakes"]] = df["stakes_built"].astype(str) + "/" + df["stakes_total"].astype(str)
    rows[h["needs_action"]] = df["needs_action"]
    rows[h["gates"]] = df["gates_open"].astype(str) + "/" + df["gates_total"].astype(str)
    rows[h["incidents_open"]] = df["incidents_open"]
    rows[h["summary"]] = df["summary_en" if lang == "en" else "summary_vi"]
    return rows.to_string(index=False)


@click.command()
@click.option("--border", default=None, metavar="CODE", help="Only this border: CN, LA, KH.")
@click.option("--province", default=None, metavar="NAME", help="Only this province.")
@click.option("--by", "by", default="border,province", show_default=True, metavar="FIELDS",
              help="Comma-separated marker fields to group by ('' for one total row).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.pass_context
def status(ctx, border, province, by, fmt):
    """Marker status by group: built/total markers and stakes, conditions, gates, incidents."""
    fields = fields_option(ctx, by, SCHEMAS["markers"].columns)
    df = marker_status(_store(ctx), by=fields, border=border_option(ctx, border),
                       province=province_option(ctx, province))
    if fmt == "json":
        click.echo(json.dumps(df.to_dict(orient="records"), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(csv_text(df), nl=False)
    else:
        click.echo(status_table(df, fields, ctx.obj["lang"]))
