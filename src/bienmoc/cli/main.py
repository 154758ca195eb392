"""The ``bienmoc`` command group: global options and the helpers its commands share.

The commands live one module per group (``status``, ``io``, ``analysis``, ``progress``,
``record``, ``serve``) and are a thin shell over the library's public functions.

Every command opens the store named by ``--store`` / ``$BIENMOC_STORE`` (or the per-user demo
store), calls one library function and formats its result. Library errors become a message on
stderr and a non-zero exit code; nothing here computes anything the library does not expose.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import click
import pandas as pd

from bienmoc.demo import default_store_path, open_store
from bienmoc.errors import BienmocError, InvalidData
from bienmoc.messages import to_vi
from bienmoc.storage import STORE_ENV

#: CLI messages in Vietnamese and English (``--lang`` / ``$BIENMOC_LANG``).
MSG = {
    "using_demo": ("bienmoc: dùng kho dữ liệu mẫu {path}", "bienmoc: using the demo store {path}"),
    "using": ("bienmoc: kho dữ liệu {path}", "bienmoc: store {path}"),
    "imported": ("Đã nhập {n} bản ghi vào lớp '{kind}' ({store}).",
                 "Imported {n} records into layer '{kind}' ({store})."),
    "invalid": ("Không nhập được {file}: {n} lỗi, kho dữ liệu không thay đổi.",
                "Cannot import {file}: {n} problem(s); the store is unchanged."),
    "row": ("dòng {row}", "row {row}"),
    "field": ("trường '{field}'", "field '{field}'"),
    "error": ("Lỗi: {msg}", "Error: {msg}"),
    "exported": ("Đã xuất {n} bản ghi ra {out}.", "Exported {n} records to {out}."),
    "serving": ("Bản đồ tổng quan: http://{host}:{port}/maps/overview",
                "Overview map: http://{host}:{port}/maps/overview"),
    "total": ("Tổng", "Total"),
}


def _t(ctx: click.Context, key: str, **kw) -> str:
    vi, en = MSG[key]
    return (en if ctx.obj.get("lang") == "en" else vi).format(**kw)


def _store(ctx: click.Context):
    obj = ctx.obj
    if "store" not in obj:
        uri = obj.get("store_uri")
        store = open_store(uri)
        obj["store"] = store
        if not uri and not os.environ.get(STORE_ENV):
            click.echo(_t(ctx, "using_demo", path=default_store_path()), err=True)
    return obj["store"]


def _reason(ctx: click.Context, text: str) -> str:
    """A library message in the CLI's language."""
    return text if ctx.obj.get("lang") == "en" else to_vi(text)


def _format_problem(ctx: click.Context, p) -> str:
    where = []
    if p.row is not None:
        where.append(_t(ctx, "row", row=p.row))
    if p.field:
        where.append(_t(ctx, "field", field=p.field))
    return ("  - " + ", ".join(where) + ": " if where else "  - ") + _reason(ctx, p.reason)


class _Group(click.Group):
    """Turns library errors into a one-line message (or a list of bad rows) and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InvalidData as e:
            sub = ctx.obj or {}
            fake = click.Context(self, obj=sub)
            header = _t(fake, "invalid", file=e.what or "?", n=len(e.problems)) if e.what else \
                _t(fake, "error", msg=f"{len(e.problems)} problem(s)")
            click.echo(header, err=True)
            for p in e.problems:
                click.echo(_format_problem(fake, p), err=True)
            ctx.exit(1)
        except BienmocError as e:
            fake = click.Context(self, obj=ctx.obj or {})
            click.echo(_t(fake, "error", msg=_reason(fake, str(e))), err=True)
            ctx.exit(1)


@click.group(cls=_Group)
@click.option("--store", "store_uri", metavar="PATH|URL", default=None,
              help=f"Store to use (default: ${STORE_ENV}, else the per-user demo store).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default=None,
              help="Language of reports and messages (default: $BIENMOC_LANG or vi).")
@click.version_option(package_name="bienmoc")
@click.pass_context
def main(ctx: click.Context, store_uri: str | None, lang: str | None) -> None:
    """bienmoc - quản lý đường biên giới, cột mốc, cửa khẩu, công trình và vụ việc."""
    ctx.ensure_object(dict)
    ctx.obj["store_uri"] = store_uri
    ctx.obj["lang"] = lang or os.environ.get("BIENMOC_LANG", "vi")


# -- shared helpers: options, tables, documents ----------------------------------------

def _kind_values(items, cast, option: str, form: str) -> dict:
    """Options like ``--tolerance small=3`` as {'small': 3.0}."""
    out = {}
    for item in items:
        key, _, val = item.partition("=")
        try:
            out[key.strip()] = cast(val)
        except ValueError:
            raise click.BadParameter(f"expected {form}, got {item!r}", param_hint=option)
    return out


def _emit_table(df: pd.DataFrame, fmt: str, output: str | None,
                headers: dict[str, str] | None = None, sheet: str = "bienmoc") -> None:
    """Write a table as text, CSV (Excel-friendly), JSON or XLSX (``headers`` relabel the
    columns of text/CSV/XLSX output; JSON keeps the stable field names)."""
    if fmt == "xlsx":
        if not output:
            raise click.UsageError("--format xlsx needs --output FILE.xlsx")
        from bienmoc.io.files import write_xlsx

        write_xlsx({sheet: df.rename(columns=headers or {})}, output)
        return
    if fmt == "table":  # money as reports write it: 12.500.000.000 (vi) / 12,500,000,000
        sep = "," if (headers or {}).get("id") != "Mã" else "."
        df = df.copy()
        for col in [c for c in df.columns if str(c).endswith("_vnd")]:
            df[col] = [f"{v:,.0f}".replace(",", sep) if pd.notna(v) else "" for v in df[col]]
    if fmt != "json" and headers:
        df = df.rename(columns=headers)
    if fmt == "json":
        text = df.to_json(orient="records", force_ascii=False, indent=2, date_format="iso")
    elif fmt == "csv":
        text = df.to_csv(index=False)
    else:
        text = df.to_string(index=False) if len(df) else "(0)"
    if output:
        Path(output).write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
    else:
        click.echo(text)


_METRIC = click.option("--metric-crs", "metric_crs", default=None, metavar="CRS",
                       help="Metric CRS for distances (default UTM 48N/49N), e.g. EPSG:9206.")



_PROGRESS_HEADERS = {
    "vi": {"border": "Tuyến", "province": "Tỉnh", "kind": "Loại công trình",
           "works_total": "Tổng số", "not_started": "Chưa triển khai",
           "in_progress": "Đang thực hiện", "stalled": "Chậm tiến độ",
           "completed": "Đã hoàn thành", "percent_complete": "Khối lượng hoàn thành (%)",
           "budget_planned_vnd": "Kinh phí kế hoạch (đồng)",
           "budget_disbursed_vnd": "Đã giải ngân (đồng)", "disbursed_pct": "Tỷ lệ giải ngân (%)",
           "id": "Mã", "title": "Hạng mục", "section": "Mốc / đoạn", "percent": "Hoàn thành (%)",
           "last_update": "Cập nhật gần nhất", "days_idle": "Số ngày không cập nhật",
           "days_overdue": "Số ngày quá hạn", "planned_end": "Hạn hoàn thành",
           "number": "Số hiệu mốc", "condition": "Tình trạng",
           "last_inspection": "Kiểm tra gần nhất", "cycle_months": "Chu kỳ (tháng)",
           "due_date": "Hạn kiểm tra", "never_inspected": "Chưa kiểm tra lần nào",
           "inspection_id": "Mã kiểm tra", "inspected": "Ngày kiểm tra",
           "condition_found": "Tình trạng phát hiện", "displacement_m": "Độ xê dịch (m)",
           "date": "Ngày", "marker": "Mốc", "event": "Sự kiện", "record_id": "Mã bản ghi",
           "description_vi": "Nội dung"},
}


def _headers(ctx) -> dict[str, str] | None:
    return _PROGRESS_HEADERS.get(ctx.obj["lang"])


def _kind_labels(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Enum codes of the displayed columns as labels (text/CSV/XLSX output only)."""
    from bienmoc.model.schema import label

    df = df.copy()
    for col in ("kind", "status", "condition", "condition_found"):
        if col in df:
            df[col] = [label(v, lang) if isinstance(v, str) else v for v in df[col]]
    return df


def _write_doc(doc: dict, output: str | None) -> None:
    """Print or save a JSON document."""
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    Path(output).write_text(text, encoding="utf-8") if output else click.echo(text)


def _records(df: pd.DataFrame) -> list[dict]:
    """DataFrame rows as JSON-ready dicts (dates as YYYY-MM-DD)."""
    out = json.loads(df.to_json(orient="records", force_ascii=False, date_format="iso"))
    for rec in out:
        for k, v in rec.items():
            if isinstance(v, str) and len(v) == 23 and v[10:] == "T00:00:00.000":
                rec[k] = v[:10]
    return out


def _write_sheets(ctx, sheets: dict[tuple[str, str], pd.DataFrame], output: str | None) -> None:
    """XLSX with one sheet per table; sheet names and headers in the CLI's language."""
    if not output:
        raise click.UsageError("--format xlsx needs --output FILE.xlsx")
    from bienmoc.io.files import write_xlsx

    lang = ctx.obj["lang"]
    h = _headers(ctx) or {}
    write_xlsx({(vi if lang == "vi" else en): _kind_labels(df, lang).rename(columns=h)
                for (vi, en), df in sheets.items()}, output)


_FMT = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx"]),
                    default="table", show_default=True)
_OUT = click.option("--output", "-o", default=None, type=click.Path(dir_okay=False),
                    help="Output file (required for xlsx).")
_AS_OF = click.option("--as-of", "as_of", default=None, metavar="DATE",
                      help="Compute as of this date (default today).")


# -- the commands, one module per group (rasterio's rio/ layout) ----------------------------
from bienmoc.cli import analysis, io, progress, record, serve, status  # noqa: E402

for _cmd in (status.status, io.import_, io.export, io.layers, analysis.locate, analysis.check,
             analysis.spacing, analysis.lengths, analysis.hotspots, progress.progress,
             progress.inspections, progress.history, record.record, serve.serve):
    main.add_command(_cmd)

if __name__ == "__main__":  # pragma: no cover
    main()
