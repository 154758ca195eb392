"""Tables in the CLI's language: :func:`_emit_table` (text, XLSX, CSV, JSON) and
:func:`_write_sheets` (several tables in one workbook). Labels come from
:mod:`bienmoc.model.labels`, numbers and dates from :mod:`bienmoc.fmt`."""
from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from bienmoc.cli.main import _lang, _t
from bienmoc.io.write import csv_text

__all__ = ["_emit_table", "_write_sheets", "_one_language"]


def _one_language(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Drop the other language's twin columns (``message_en`` when ``lang`` is vi ...)."""
    other = "_en" if lang == "vi" else "_vi"
    mine = "_vi" if lang == "vi" else "_en"
    drop = [c for c in df.columns if str(c).endswith(other)
            and str(c)[:-3] + mine in df.columns]
    return df.drop(columns=drop)


def _emit_table(df: pd.DataFrame, fmt: str, output: str | None,
                headers: dict[str, str] | None = None, sheet: str | tuple = "bienmoc", *,
                layer: str | None = None, empty: str | None = None) -> None:
    """Write a table in the CLI's language: ``table`` (text: labels, numbers and dates in the
    language's format via :mod:`bienmoc.fmt`, missing values '—'), ``xlsx`` (labels, typed
    cells), or ``csv``/``json`` (data for scripts: field names, codes, ISO dates - stable
    whatever the language).

    Headers come from :func:`bienmoc.model.labels.column_label` - the schema labels of ``layer``
    (the layer the rows come from; it decides e.g. that "kind" is "Loại mốc") or the derived
    catalogue; ``headers`` overrides single columns. ``sheet`` is the XLSX sheet name, or a
    (vi, en) pair. ``empty`` is printed instead of an empty text table (default: no rows)."""
    from bienmoc.fmt import fmt_number, format_table, label_table

    lang = _lang(click.get_current_context(silent=True))
    if fmt == "xlsx":
        if not output:
            raise click.UsageError("--format xlsx needs --output FILE.xlsx")
        from bienmoc.io.files import write_xlsx

        name = sheet if isinstance(sheet, str) else sheet[lang == "en"]
        write_xlsx({name: label_table(_one_language(df, lang), lang, layer, headers)}, output,
                   lang)
        click.echo(_t(None, "written", n=fmt_number(len(df), lang), out=output), err=True)
        return
    if fmt == "json":
        text = df.to_json(orient="records", force_ascii=False, indent=2, date_format="iso")
    elif fmt == "csv":
        text = csv_text(df)
    elif len(df):
        text = format_table(_one_language(df, lang), lang, layer, headers).to_string(index=False)
    else:
        text = empty or _t(None, "no_rows")
    if output:
        Path(output).write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        click.echo(_t(None, "written", n=fmt_number(len(df), lang), out=output), err=True)
    else:
        click.echo(text)


def _write_sheets(ctx, sheets: dict[tuple[str, str], tuple[pd.DataFrame, str | None]],
                 output: str | None) -> None:
    """XLSX with one sheet per table: {(vi name, en name): (table, layer)}; sheet names,
    headers and values in the CLI's language (:func:`bienmoc.fmt.label_table`)."""
    if not output:
        raise click.UsageError("--format xlsx needs --output FILE.xlsx")
    from bienmoc.fmt import label_table
    from bienmoc.io.files import write_xlsx

    lang = _lang(ctx)
    sheets = {k: v if isinstance(v, tuple) else (v, None) for k, v in sheets.items()}
    write_xlsx({(vi if lang == "vi" else en): label_table(_one_language(df, lang), lang, layer)
                for (vi, en), (df, layer) in sheets.items()}, output, lang)


def _headers(ctx) -> None:
    """Kept for callers written before :mod:`bienmoc.model.labels`: ``_emit_table`` labels
    every column itself now, so there are no extra headers to give."""
    return None


def _kind_labels(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Kept for older callers: ``_emit_table(df, ..., layer=...)`` labels enum codes itself."""
    return df
