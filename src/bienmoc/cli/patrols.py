"""Patrols: ``bienmoc import patrols FILE`` (called by ``import``) and ``bienmoc coverage``."""
from __future__ import annotations

from pathlib import Path

import click

from bienmoc.cli.main import (DATE, MSG, OUTPUT, UserError, _emit_table, _lang, _store, _t,
                              _write_doc, border_option, enum_option, nfc, province_option)
from bienmoc.cli.lang import HELP
from bienmoc.errors import InvalidData
from bienmoc.fmt import fmt_number
from bienmoc.model.enums import PatrolKind

HELP.update({
    "import --team": ("import patrols: tổ tuần tra (bắt buộc).", None),
    "import --kind": ("import patrols: đơn phương (unilateral, mặc định) hoặc song phương "
                      "(joint).", None),
    "import --unit": ("import patrols: đơn vị (đồn biên phòng).", None),
    "import --neighbour-unit": ("import patrols: đơn vị của nước láng giềng (bắt buộc với "
                                "tuần tra song phương).", None),
    "import --border": ("import patrols: tuyến biên giới (mặc định: tuyến gần vết tuần tra "
                        "nhất).", None),
    "import --max-speed": ("import patrols: từ chối điểm GPS có tốc độ từ điểm trước lớn hơn "
                           "mức này (km/h, mặc định 50).", None),
    "coverage": ("Các đoạn biên giới đã được tuần tra: các khoảng (đơn phương / song phương) "
                 "và, theo đoạn giữa hai mốc hoặc theo km, tỷ lệ đã tuần tra, lần tuần tra gần "
                 "nhất và các đoạn quá hạn.", None),
    "coverage --border": ("Tuyến biên giới, ví dụ LA.", None),
    "coverage --province": ("Chỉ các đoạn biên giới của tỉnh này.", None),
    "coverage --from": ("Từ ngày này (tính cả ngày này).", None),
    "coverage --to": ("Đến ngày này (tính cả ngày này).", None),
    "coverage --within": ("Điểm GPS cách đường biên giới không quá khoảng này (m) thì được "
                          "tính.", None),
    "coverage --gap": ("Hai điểm GPS liền nhau cách nhau không quá khoảng này (m) thì nối "
                       "thành một đoạn đi liền.", None),
    "coverage --by": ("Chia đoạn: giữa hai mốc liền nhau (marker-section) hoặc theo từng km "
                      "(km).", None),
    "coverage --overdue-days": ("Đoạn không được tuần tra quá N ngày là quá hạn.", None),
    "coverage --format": ("Định dạng kết quả: table = bảng để đọc; json, csv = dữ liệu cho "
                          "chương trình (tên trường, mã, ngày ISO).", None),
    "coverage --output": ("Tệp kết quả (mặc định: in ra màn hình).", None),
})

MSG.update({
    "patrols_imported": ("Đã nhập {n} chuyến tuần tra ({fixes} điểm GPS) vào kho {store}.",
                         "Imported {n} patrols ({fixes} GPS fixes) into {store}."),
    "need_team": ("nhập tuần tra cần --team (tên tổ tuần tra)",
                  "importing patrols needs --team (the patrol team's name)"),
    "patrol_only": ("{opt} chỉ dùng cho 'import patrols'", "{opt} is only for 'import patrols'"),
    "coverage_title": ("Các đoạn đã tuần tra (mét theo lý trình)",
                       "Patrolled intervals (chainage, metres)"),
    "coverage_sections": ("Theo đoạn", "By section"),
    "coverage_summary": ("Tổng chiều dài đã tuần tra: {all} km (đơn phương {u} km, song "
                         "phương {j} km) trên {n} đoạn; {over} đoạn quá hạn",
                         "Patrolled: {all} km (unilateral {u} km, joint {j} km) over "
                         "{n} sections; {over} overdue"),
})

PATROL_OPTIONS = [
    click.option("--team", default=None, help="import patrols: the patrol team (required)."),
    click.option("--kind", "patrol_kind", default=None, metavar="unilateral|joint",
                 help="import patrols: unilateral (default) or joint (the Vietnamese labels "
                      "are accepted too)."),
    click.option("--unit", default=None, help="import patrols: the unit (border post)."),
    click.option("--neighbour-unit", "neighbour_unit", default=None,
                 help="import patrols: the neighbour's unit (required for joint patrols)."),
    click.option("--border", "patrol_border", default=None, metavar="CODE",
                 help="import patrols: the border (default: the line nearest the track)."),
    click.option("--max-speed", "max_speed", default=None, type=click.FloatRange(min=1),
                 help="import patrols: fixes faster than this (km/h) from the previous one "
                      "are refused (default 50)."),
]


def patrol_options(f):
    for opt in reversed(PATROL_OPTIONS):
        f = opt(f)
    return f


def import_patrols_cmd(ctx, file, *, team, patrol_kind, unit, neighbour_unit, patrol_border,
                       max_speed, allow) -> None:
    """``bienmoc import patrols FILE``: GPX, GeoJSON, CSV, a folder or a zip of them."""
    from bienmoc.io.tracks import DEFAULT_MAX_SPEED_KMH, import_patrols

    if not team:
        raise UserError("need_team")
    kind = enum_option(ctx, PatrolKind, patrol_kind) or "unilateral"
    store = _store(ctx, create=True)
    b = border_option(ctx, patrol_border)
    try:
        data = import_patrols(store, file, team=nfc(team), kind=kind, unit=nfc(unit),
                              neighbour_unit=nfc(neighbour_unit), border=b,
                              max_speed_kmh=max_speed or DEFAULT_MAX_SPEED_KMH, allow=allow)
    except InvalidData as e:
        # the library names what it read in English ("patrols FILE"); the CLI's header
        # ("Cannot import FILE: ...") names the file alone, in either language
        if e.what:
            e.what = Path(file).name
        raise
    click.echo(_t(ctx, "patrols_imported", n=len(data), fixes=data.attrs.get("fixes", 0),
                  store=store.uri), err=True)


def check_no_patrol_options(ctx, **given) -> None:
    """The patrol options are refused for other kinds (silently ignoring them would mislead)."""
    names = {"team": "--team", "patrol_kind": "--kind", "unit": "--unit",
             "neighbour_unit": "--neighbour-unit", "patrol_border": "--border",
             "max_speed": "--max-speed"}
    for k, v in given.items():
        if v is not None:
            raise UserError("patrol_only", opt=names[k])


@click.command()
@click.option("--border", required=True, metavar="CODE", help="Border, e.g. LA.")
@click.option("--province", default=None, metavar="NAME",
              help="Only this province's border sections.")
@click.option("--from", "start", default=None, type=DATE, help="First day (inclusive).")
@click.option("--to", "end", default=None, type=DATE, help="Last day (inclusive).")
@click.option("--within", default=500.0, show_default=True, type=click.FloatRange(min=0),
              help="A fix counts when this close to the line (m).")
@click.option("--gap", default=1000.0, show_default=True, type=click.FloatRange(min=0),
              help="Consecutive fixes at most this far apart (m) join into one walked run.")
@click.option("--by", type=click.Choice(["marker-section", "km"]), default="marker-section",
              show_default=True, help="Sections: between consecutive markers, or per km.")
@click.option("--overdue-days", "overdue_days", default=None, type=click.IntRange(min=0),
              help="Sections not visited for more than N days are overdue.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.option("--output", "-o", default=None, type=OUTPUT, help="Output file.")
@click.pass_context
def coverage(ctx, border, province, start, end, within, gap, by, overdue_days, fmt, output):
    """Which stretches of the line were patrolled: intervals (unilateral / joint) and, per
    marker section or km, the share covered, the last visit and the overdue sections."""
    from bienmoc.analysis.coverage import coverage as run

    store = _store(ctx)
    b, prov = border_option(ctx, border), province_option(ctx, province)
    if start and end and start > end:
        raise UserError("from_after_to", start=start, end=end)
    cov = run(store, store, b, within_m=within, gap_m=gap, start=start, end=end, by=by,
              province=prov, overdue_days=overdue_days)
    if fmt == "json":
        _write_doc(cov.to_json(), output)
        return
    lang = _lang(ctx)
    sections = cov.sections.round({"start_m": 1, "end_m": 1, "covered_share": 3,
                                   "unilateral_share": 3, "joint_share": 3})
    intervals = cov.intervals.round({"start_m": 1, "end_m": 1})
    if fmt == "csv":  # data for scripts: field names, codes, ISO dates (as the JSON)
        _emit_table(sections, "csv", output)
        return
    # the text tables: headers from bienmoc.model.labels (the kind is the patrols' field),
    # codes, dates, yes/no and numbers in the reader's language (bienmoc.fmt)
    click.echo(_t(ctx, "coverage_title") + ":")
    _emit_table(intervals, "table", None, layer="patrols")
    click.echo("\n" + _t(ctx, "coverage_sections") + ":")
    _emit_table(sections, "table", output, layer="patrols")
    over = int(cov.sections["overdue"].sum()) if "overdue" in cov.sections else 0
    km = {k: fmt_number(cov.covered_m(k) / 1000, lang, 1)
          for k in (None, "unilateral", "joint")}
    click.echo("\n" + _t(ctx, "coverage_summary", all=km[None], u=km["unilateral"],
                         j=km["joint"], n=fmt_number(len(cov.sections), lang),
                         over=fmt_number(over, lang)))


__all__ = ["coverage", "import_patrols_cmd", "patrol_options", "check_no_patrol_options"]
