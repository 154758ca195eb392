"""Works and markers over time: ``progress``, ``inspections due``, ``history``."""
from __future__ import annotations

import click

from bienmoc.model.places import in_area
from bienmoc.cli.main import (_AS_OF, _FMT, _OUT, _emit_table, _kind_values, _lang, _records,
                              _store, _write_doc, _write_sheets, border_option, province_option)
from bienmoc.model.schema import MarkerKind


@click.command()
@_AS_OF
@click.option("--border", default=None, metavar="CODE")
@click.option("--province", default=None, metavar="NAME")
@click.option("--by", default="border,province,kind", show_default=True, metavar="FIELDS")
@click.option("--stall-days", default=None, type=click.IntRange(min=1),
              help="Days without a progress update after which a work is stalled (180).")
@_FMT
@_OUT
@click.pass_context
def progress(ctx, as_of, border, province, by, stall_days, fmt, output):
    """Works progress as of a date: counts by status, percent, budgets, and stalled works."""
    from bienmoc.analysis.progress import (DEFAULT_STALL_DAYS, as_of_date, progress_summary,
                                           stalled_works)

    store = _store(ctx)
    n = stall_days if stall_days is not None else DEFAULT_STALL_DAYS
    b, province = border_option(ctx, border), province_option(ctx, province)
    fields = [f.strip() for f in by.split(",") if f.strip()]
    summary = progress_summary(store, as_of=as_of, by=fields, border=b, province=province,
                               stall_days=n)
    stalled = stalled_works(store, as_of=as_of, stall_days=n, border=b, province=province)
    lang = _lang(ctx)
    if fmt == "json":
        _write_doc({"as_of": str(as_of_date(as_of).date()), "stall_days": n,
                    "summary": _records(summary), "stalled": _records(stalled)}, output)
        return
    if fmt == "xlsx":
        _write_sheets(ctx, {("Tiến độ", "Progress"): (summary, "works"),
                            ("Chậm tiến độ", "Stalled"): (stalled, "works")}, output)
        return
    _emit_table(summary, fmt, output, layer="works")
    if fmt == "table":
        title = "Công trình chậm tiến độ" if lang == "vi" else "Stalled works"
        click.echo(f"\n{title} ({len(stalled)}):")
        _emit_table(stalled, fmt, None, layer="works")


@click.group()
def inspections():
    """Marker inspections: what is due, what is displaced."""


@inspections.command("due")
@_AS_OF
@click.option("--border", default=None, metavar="CODE")
@click.option("--province", default=None, metavar="NAME")
@click.option("--cycle", "cycles", multiple=True, metavar="KIND=MONTHS",
              help="Inspection cycle per marker kind (default large=12, others 24).")
@click.option("--tolerance", default=1.0, show_default=True, type=click.FloatRange(min=0),
              help="Displacement (m) beyond which a marker is listed as displaced.")
@_FMT
@_OUT
@click.pass_context
def inspections_due_cmd(ctx, as_of, border, province, cycles, tolerance, fmt, output):
    """Markers due (or never) inspected, and markers displaced beyond a tolerance."""
    from bienmoc.analysis.inspections import displaced_markers, inspections_due

    cyc = _kind_values(cycles, int, "--cycle", "KIND=MONTHS", enum=MarkerKind)
    store = _store(ctx)
    b, province = border_option(ctx, border), province_option(ctx, province)
    due = inspections_due(store, as_of=as_of, cycle_months=cyc, border=b, province=province)
    disp = displaced_markers(store, tolerance_m=tolerance, as_of=as_of)
    disp = in_area(disp, b, province)
    lang = _lang(ctx)
    if fmt == "json":
        _write_doc({"due": _records(due), "displaced": _records(disp)}, output)
        return
    disp = disp.round({"displacement_m": 2})
    if fmt == "xlsx":
        _write_sheets(ctx, {("Đến hạn kiểm tra", "Due"): (due, "markers"),
                            ("Mốc xê dịch", "Displaced"): (disp, "markers")}, output)
        return
    _emit_table(due, fmt, output, layer="markers")
    if fmt == "table":
        from bienmoc.fmt import fmt_number

        title = (f"Mốc xê dịch quá {fmt_number(tolerance, lang)} m" if lang == "vi"
                 else f"Markers displaced beyond {fmt_number(tolerance, lang)} m")
        click.echo(f"\n{title} ({len(disp)}):")
        _emit_table(disp, fmt, None, layer="markers")


@click.command()
@click.argument("number")
@click.option("--border", default=None, metavar="CODE")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx"]),
              default="table", show_default=True)
@_OUT
@click.pass_context
def history(ctx, number, border, fmt, output):
    """The full history of a marker: construction, works, progress, inspections, resurveys."""
    from bienmoc.analysis.inspections import marker_history

    h = marker_history(_store(ctx), number.strip(), border=border_option(ctx, border))
    if fmt == "json":
        _emit_table(h.assign(date=h["date"].dt.strftime("%Y-%m-%d")), fmt, output)
        return
    _emit_table(h, fmt, output, sheet=(f"Lịch sử mốc {number}", f"History of {number}"))
