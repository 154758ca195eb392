"""The ``bienmoc`` command: a thin shell over the library's public functions.

Every command opens the store named by ``--store`` / ``$BIENMOC_STORE`` (or the per-user demo
store), calls one library function and formats its result. Library errors become a message on
stderr and a non-zero exit code; nothing here computes anything the library does not expose.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
import pandas as pd

from bienmoc.errors import BienmocError, InvalidData
from bienmoc.io.files import (EXPORT_FORMATS, XY_ORDERS, export_layer, format_from_path,
                              import_layer)
from bienmoc.io.write import csv_text
from bienmoc.messages import to_vi
from bienmoc.model.schema import IMPORTABLE, SCHEMAS
from bienmoc.analysis.status import marker_status
from bienmoc.demo import default_store_path, open_store
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
    rule = f" [--allow {p.rule}]" if getattr(p, "rule", "") else ""  # how to override it
    return ("  - " + ", ".join(where) + ": " if where else "  - ") + _reason(ctx, p.reason) + rule


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


# -- status --------------------------------------------------------------------------------

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


@main.command()
@click.option("--border", default=None, metavar="CODE", help="Only this border: CN, LA, KH.")
@click.option("--province", default=None, metavar="NAME", help="Only this province.")
@click.option("--by", "by", default="border,province", show_default=True, metavar="FIELDS",
              help="Comma-separated marker fields to group by ('' for one total row).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.pass_context
def status(ctx, border, province, by, fmt):
    """Marker status by group: built/total markers and stakes, conditions, gates, incidents."""
    fields = [f.strip() for f in by.split(",") if f.strip()]
    df = marker_status(_store(ctx), by=fields, border=border.upper() if border else None,
                       province=province)
    if fmt == "json":
        click.echo(json.dumps(df.to_dict(orient="records"), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(csv_text(df), nl=False)
    else:
        click.echo(status_table(df, fields, ctx.obj["lang"]))


# -- import / export ---------------------------------------------------------------------

_XY = click.option("--xy", type=click.Choice(XY_ORDERS), default=XY_ORDERS[0],
                   show_default=True, help="Order of x/y columns in CSV/XLSX; VN-2000 survey "
                   "sheets write X = northing, Y = easting: northing,easting.")


#: ``--allow RULE``: an explicit, logged override of an entry rule (bienmoc.records.rules)
_ALLOW = click.option("--allow", "allow", multiple=True, metavar="RULE",
                      help="Override a rule for a true exception (far, border, side, parts, "
                           "province, displacement, resurvey_far, future_date, date_order, "
                           "before_existence); stored on the record and logged.")


@main.command("import")
@click.argument("kind", type=click.Choice(IMPORTABLE))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--crs", default=None, metavar="CRS",
              help="Source CRS when the file declares none (CSV x/y), e.g. EPSG:3405.")
@click.option("--encoding", default=None, help="Text encoding of a CSV (default UTF-8).")
@click.option("--mode", type=click.Choice(["append", "replace"]), default="append",
              show_default=True, help="Add to the layer or replace it.")
@click.option("--layer", default=None, help="Layer to read from a multi-layer file.")
@_XY
@_ALLOW
@click.pass_context
def import_(ctx, kind, file, crs, encoding, mode, layer, xy, allow):
    """Import FILE (GeoJSON, GeoPackage, Shapefile, CSV, XLSX) into layer KIND, all or
    nothing."""
    store = _store(ctx)
    data = import_layer(store, kind, file, crs=crs, encoding=encoding, mode=mode, layer=layer,
                        xy=xy, allow=allow)
    click.echo(_t(ctx, "imported", n=len(data), kind=kind, store=store.uri), err=True)


@main.command()
@click.argument("kind", type=click.Choice(IMPORTABLE))
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default=None,
              help="Output format (default: from --output's extension, else geojson).")
@click.option("--output", "-o", default=None, type=click.Path(dir_okay=False),
              help="Output file (default: standard output).")
@click.option("--labels", type=click.Choice(["codes", "vi", "en"]), default="codes",
              show_default=True, help="CSV/XLSX headers and values: field codes or labels.")
@click.option("--crs", default=None, metavar="CRS",
              help="Write coordinates in this CRS (default EPSG:4326), e.g. EPSG:9206 for "
              "markers in VN-2000 / TM-3 104°.")
@click.pass_context
def export(ctx, kind, fmt, output, labels, crs):
    """Export layer KIND as GeoJSON, GeoPackage, Shapefile (zip), CSV or XLSX."""
    if fmt is None:
        fmt = format_from_path(output) if output else "geojson"
    data = _store(ctx).read(kind)
    target = output if output else sys.stdout.buffer
    export_layer(data, fmt, target, kind=kind, lang=None if labels == "codes" else labels,
                 crs=crs)
    if output:
        click.echo(_t(ctx, "exported", n=len(data), out=output), err=True)


@main.command()
@click.pass_context
def layers(ctx):
    """List the store's layers and their record counts."""
    store = _store(ctx)
    click.echo(_t(ctx, "using", path=store.uri))
    for name in store.layers():
        n = len(store.read(name))
        title = SCHEMAS[name].vi if name in SCHEMAS and ctx.obj["lang"] == "vi" else name
        click.echo(f"  {name:<12} {n:>7}  {title}")


# -- boundary analytics ------------------------------------------------------------------

def _model(ctx, crs):
    from bienmoc.geometry.locate import BorderModel

    return BorderModel.from_source(_store(ctx), crs=crs)


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
        text = csv_text(df)
    else:
        text = df.to_string(index=False) if len(df) else "(0)"
    if output:
        Path(output).write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
    else:
        click.echo(text)


_METRIC = click.option("--metric-crs", "metric_crs", default=None, metavar="CRS",
                       help="Metric CRS for distances (default UTM 48N/49N), e.g. EPSG:9206.")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv", "table"]),
              default="geojson", show_default=True)
@click.option("--output", "-o", default=None, type=click.Path(dir_okay=False))
@click.option("--crs", default=None, metavar="CRS", help="CRS of FILE if it declares none.")
@_XY
@_METRIC
@click.pass_context
def locate(ctx, file, fmt, output, crs, xy, metric_crs):
    """Locate the features of FILE: border, distance, side, chainage, markers, province."""
    from bienmoc.io.files import read_source
    from bienmoc.geometry.locate import locate as _locate

    data, _ = read_source(file, crs=crs, xy=xy)
    out = _locate(data, _model(ctx, metric_crs))
    if fmt == "geojson":
        export_layer(out.to_crs(4326), "geojson", output or sys.stdout.buffer)
    elif fmt == "csv":
        export_layer(out.to_crs(4326), "csv", output or sys.stdout.buffer)
    else:
        cols = [c for c in out.columns if c != out.geometry.name]
        table = pd.DataFrame(out[cols]).round({"distance_m": 1, "chainage_m": 1,
                                               "nearest_marker_distance_m": 1})
        _emit_table(table, "table", output)


@main.command()
@click.option("--border", default=None, metavar="CODE")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.option("--tolerance", "tolerance", multiple=True, metavar="KIND=M",
              help="Distance tolerance from the line per kind, e.g. --tolerance small=3.")
@click.option("--max-part-spacing", default=200.0, show_default=True,
              help="Max distance (m) between the parts of a double/triple marker.")
@_METRIC
@click.pass_context
def check(ctx, border, fmt, tolerance, max_part_spacing, metric_crs):
    """Marker QA; exits 1 when any error is found."""
    from bienmoc.analysis.qa import check_markers

    tol = _kind_values(tolerance, float, "--tolerance", "KIND=METRES")
    store = _store(ctx)
    frames = {k: store.read(k) for k in ("boundary", "markers", "provinces")}
    df = check_markers(frames, border=border.upper() if border else None, tolerance_m=tol,
                       max_part_spacing_m=max_part_spacing, crs=metric_crs)
    lang = ctx.obj["lang"]
    if fmt == "table":
        msg = "message_en" if lang == "en" else "message_vi"
        _emit_table(df[["severity", "check", "border", "markers", "value", msg]], fmt, None)
    else:
        _emit_table(df, fmt, None)
    ctx.exit(1 if (df["severity"] == "error").any() else 0)


@main.command()
@click.option("--border", default=None, metavar="CODE")
@click.option("--max-spacing", default=None, type=float, metavar="M",
              help="List sections longer than M metres with proposed stakes.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "geojson"]),
              default="table", show_default=True)
@click.option("--output", "-o", default=None, type=click.Path(dir_okay=False))
@_METRIC
@click.pass_context
def spacing(ctx, border, max_spacing, fmt, output, metric_crs):
    """Distance along the line between consecutive markers; with --max-spacing, proposed
    reference stakes for the long sections (GeoJSON of the proposals with --format geojson)."""
    from bienmoc.analysis.spacing import densify, marker_spacing

    model = _model(ctx, metric_crs)
    b = border.upper() if border else None
    if max_spacing is None:
        _emit_table(marker_spacing(model, border=b).round(1), "table" if fmt == "geojson"
                    else fmt, output)
        return
    sections, stakes = densify(model, max_spacing_m=max_spacing, border=b)
    if fmt == "geojson":
        export_layer(stakes, "geojson", output or sys.stdout.buffer)
        return
    table = pd.DataFrame(stakes.drop(columns="geometry")).round(1)
    table["lon"], table["lat"] = stakes.geometry.x.round(7), stakes.geometry.y.round(7)
    _emit_table(table, fmt, output)


@main.command()
@click.option("--by", type=click.Choice(["border", "province"]), default="province",
              show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@_METRIC
@click.pass_context
def lengths(ctx, by, fmt, metric_crs):
    """Border length (km) per neighbour or per province, with official figures when known."""
    from bienmoc.analysis.lengths import border_lengths, province_lengths

    store = _store(ctx)
    frames = {k: store.read(k) for k in ("boundary", "markers", "provinces")}
    df = (border_lengths(frames, crs=metric_crs) if by == "border"
          else province_lengths(frames, crs=metric_crs))
    _emit_table(df.round(2), fmt, None)


@main.command()
@click.option("--bin", "bin_m", default=1000.0, show_default=True, help="Bin length (m).")
@click.option("--from", "start", default=None, metavar="DATE")
@click.option("--to", "end", default=None, metavar="DATE")
@click.option("--kind", "kinds", multiple=True, help="Only these incident kinds.")
@click.option("--top", default=10, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@_METRIC
@click.pass_context
def hotspots(ctx, bin_m, start, end, kinds, top, fmt, metric_crs):
    """Incident counts per chainage bin along the line, busiest first."""
    from bienmoc.analysis.lengths import hotspots as _hotspots

    store = _store(ctx)
    df = _hotspots(_model(ctx, metric_crs), store.read("incidents"), bin_m=bin_m, start=start,
                   end=end, kinds=kinds or None, top=top)
    _emit_table(df, fmt, None)


# -- works, progress, inspections, history --------------------------------------------------

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


@main.command()
@_AS_OF
@click.option("--border", default=None, metavar="CODE")
@click.option("--province", default=None, metavar="NAME")
@click.option("--by", default="border,province,kind", show_default=True, metavar="FIELDS")
@click.option("--stall-days", default=None, type=int,
              help="Days without a progress update after which a work is stalled (180).")
@_FMT
@_OUT
@click.pass_context
def progress(ctx, as_of, border, province, by, stall_days, fmt, output):
    """Works progress as of a date: counts by status, percent, budgets, and stalled works."""
    from bienmoc.analysis.progress import DEFAULT_STALL_DAYS, as_of_date, progress_summary, stalled_works

    store = _store(ctx)
    n = stall_days if stall_days is not None else DEFAULT_STALL_DAYS
    b = border.upper() if border else None
    fields = [f.strip() for f in by.split(",") if f.strip()]
    summary = progress_summary(store, as_of=as_of, by=fields, border=b, province=province,
                               stall_days=n)
    stalled = stalled_works(store, as_of=as_of, stall_days=n, border=b, province=province)
    lang = ctx.obj["lang"]
    if fmt == "json":
        _write_doc({"as_of": str(as_of_date(as_of).date()), "stall_days": n,
                    "summary": _records(summary), "stalled": _records(stalled)}, output)
        return
    h = _headers(ctx)
    if fmt == "xlsx":
        _write_sheets(ctx, {("Tiến độ", "Progress"): summary,
                            ("Chậm tiến độ", "Stalled"): stalled}, output)
        return
    _emit_table(_kind_labels(summary, lang), fmt, output, h)
    if fmt == "table":
        title = "Công trình chậm tiến độ" if lang == "vi" else "Stalled works"
        click.echo(f"\n{title} ({len(stalled)}):")
        _emit_table(_kind_labels(stalled, lang), fmt, None, h)


@main.group()
def inspections():
    """Marker inspections: what is due, what is displaced."""


@inspections.command("due")
@_AS_OF
@click.option("--border", default=None, metavar="CODE")
@click.option("--province", default=None, metavar="NAME")
@click.option("--cycle", "cycles", multiple=True, metavar="KIND=MONTHS",
              help="Inspection cycle per marker kind (default large=12, others 24).")
@click.option("--tolerance", default=1.0, show_default=True,
              help="Displacement (m) beyond which a marker is listed as displaced.")
@_FMT
@_OUT
@click.pass_context
def inspections_due_cmd(ctx, as_of, border, province, cycles, tolerance, fmt, output):
    """Markers due (or never) inspected, and markers displaced beyond a tolerance."""
    from bienmoc.analysis.inspections import displaced_markers, inspections_due

    cyc = _kind_values(cycles, int, "--cycle", "KIND=MONTHS")
    store = _store(ctx)
    b = border.upper() if border else None
    due = inspections_due(store, as_of=as_of, cycle_months=cyc, border=b, province=province)
    disp = displaced_markers(store, tolerance_m=tolerance, as_of=as_of)
    if b:
        disp = disp[disp["border"] == b]
    if province:
        disp = disp[disp["province"].fillna("").str.casefold() == province.casefold()]
    lang = ctx.obj["lang"]
    h = _headers(ctx)
    if fmt == "json":
        _write_doc({"due": _records(due), "displaced": _records(disp)}, output)
        return
    if fmt == "xlsx":
        _write_sheets(ctx, {("Đến hạn kiểm tra", "Due"): due,
                            ("Mốc xê dịch", "Displaced"): disp}, output)
        return
    _emit_table(_kind_labels(due, lang), fmt, output, h)
    if fmt == "table":
        title = (f"Mốc xê dịch quá {tolerance:g} m" if lang == "vi"
                 else f"Markers displaced beyond {tolerance:g} m")
        click.echo(f"\n{title} ({len(disp)}):")
        _emit_table(_kind_labels(disp.round({"displacement_m": 2}), lang), fmt, None, h)


@main.command()
@click.argument("number")
@click.option("--border", default=None, metavar="CODE")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.pass_context
def history(ctx, number, border, fmt):
    """The full history of a marker: construction, works, progress, inspections, resurveys."""
    from bienmoc.analysis.inspections import marker_history

    h = marker_history(_store(ctx), number, border=border.upper() if border else None)
    lang = ctx.obj["lang"]
    if fmt == "json":
        _emit_table(h.assign(date=h["date"].dt.strftime("%Y-%m-%d")), fmt, None)
        return
    view = h.drop(columns=["description_en" if lang == "vi" else "description_vi"])
    if lang == "vi":
        view = view.assign(date=view["date"].dt.strftime("%d/%m/%Y"))
    _emit_table(view, fmt, None, _headers(ctx))


@main.group()
def record():
    """Record progress updates and inspections (validated, append-only)."""


@record.command("progress")
@click.argument("work_id")
@click.option("--date", required=True, metavar="DATE")
@click.option("--percent", required=True, type=float)
@click.option("--note", default=None)
@click.option("--disbursed", default=None, type=float, help="Disbursed to date (VND).")
@click.option("--corrects", default=None, metavar="ID", help="Id of the record this corrects.")
@_ALLOW
@click.pass_context
def record_progress_cmd(ctx, work_id, date, percent, note, disbursed, corrects, allow):
    """Append a progress update of work WORK_ID."""
    from bienmoc.records.recording import record_progress

    rec = record_progress(_store(ctx), work_id, date, percent, note=note,
                          disbursed_vnd=disbursed, corrects=corrects, allow=allow)
    click.echo(rec["id"].iloc[0])


@record.command("inspection")
@click.argument("marker")
@click.option("--border", required=True, metavar="CODE")
@click.option("--date", required=True, metavar="DATE")
@click.option("--team", required=True, help="unilateral / joint (đơn phương / song phương).")
@click.option("--condition", required=True, help="good / damaged / displaced / destroyed / "
                                                 "missing (or the Vietnamese label).")
@click.option("--lon", type=float, default=None, help="Measured longitude (EPSG:4326).")
@click.option("--lat", type=float, default=None, help="Measured latitude (EPSG:4326).")
@click.option("--notes", default=None)
@click.option("--photos", default=None, help="Photo references, ';'-separated.")
@click.option("--corrects", default=None, metavar="ID", help="Id of the record this corrects.")
@_ALLOW
@click.pass_context
def record_inspection_cmd(ctx, marker, border, date, team, condition, lon, lat, notes, photos,
                          corrects, allow):
    """Append an inspection of MARKER."""
    from bienmoc.records.recording import record_inspection

    if (lon is None) != (lat is None):
        raise click.UsageError("give both --lon and --lat, or neither")
    rec = record_inspection(_store(ctx), border.upper(), marker, date, team, condition,
                            position=(lon, lat) if lon is not None else None, notes=notes,
                            photos=photos, corrects=corrects, allow=allow)
    click.echo(rec["id"].iloc[0])


@record.command("resurvey")
@click.argument("marker")
@click.option("--border", required=True, metavar="CODE")
@click.option("--date", required=True, metavar="DATE")
@click.option("--lon", type=float, required=True)
@click.option("--lat", type=float, required=True)
@click.option("--reason", required=True)
@click.option("--surveyor", default=None)
@_ALLOW
@click.pass_context
def record_resurvey_cmd(ctx, marker, border, date, lon, lat, reason, surveyor, allow):
    """Move MARKER's registered position after a resurvey (recorded with the old position)."""
    from bienmoc.records.recording import resurvey_marker

    rec = resurvey_marker(_store(ctx), border.upper(), marker, (lon, lat), date, reason,
                          surveyor=surveyor, allow=allow)
    click.echo(rec["id"].iloc[0])


@record.command("incident")
@click.option("--kind", required=True, help="Incident kind (code or Vietnamese label).")
@click.option("--lon", type=float, required=True)
@click.option("--lat", type=float, required=True)
@click.option("--reported", default=None, metavar="DATE", help="Reported date (default today).")
@click.option("--occurred", default=None, metavar="DATE")
@click.option("--border", default=None, metavar="CODE", help="Default: the nearest line.")
@click.option("--province", default=None, help="Default: the province at the position.")
@click.option("--description", default=None)
@_ALLOW
@click.pass_context
def record_incident_cmd(ctx, kind, lon, lat, reported, occurred, border, province,
                        description, allow):
    """Append an incident at LON/LAT."""
    from bienmoc.records import record_incident

    rec = record_incident(_store(ctx), kind, (lon, lat), reported_date=reported,
                          occurred_date=occurred, border=border.upper() if border else None,
                          province=province, description=description, allow=allow)
    click.echo(rec["id"].iloc[0])


# -- serve -------------------------------------------------------------------------------

@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--store", "serve_store", default=None, metavar="PATH|URL",
              help="Store to serve (same as the global --store).")
@click.pass_context
def serve(ctx, host, port, serve_store):
    """Serve the map server (FastAPI) on HOST:PORT."""
    import uvicorn

    from bienmoc.api import create_app

    if serve_store:
        ctx.obj["store_uri"] = serve_store
    app = create_app(store=_store(ctx))
    click.echo(_t(ctx, "serving", host=host, port=port), err=True)
    uvicorn.run(app, host=host, port=port, log_level="info")


if __name__ == "__main__":  # pragma: no cover
    main()
