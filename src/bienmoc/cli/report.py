"""``bienmoc report``: the periodic report (DOCX/HTML/Markdown/PDF) and ``report check``."""
from __future__ import annotations

import re
from pathlib import Path

import click

from bienmoc.cli.main import (DATE, MSG, OUTPUT, UserError, _store, border_option, fold,
                              province_option)

MSG.update({
    "report_period": ("kỳ báo cáo không hợp lệ: {value} (viết YYYY, YYYY-Qn (quý), YYYY-H1/H2 "
                      "(6 tháng), YYYY-nM (n tháng đầu năm) hoặc YYYY-MM)",
                      "not a report period: {value} (write YYYY, YYYY-Qn, YYYY-H1/H2, YYYY-nM "
                      "for the first n months, or YYYY-MM)"),
    "report_when": ("cần --period hoặc cả --from và --to",
                    "give --period, or both --from and --to"),
    "report_both": ("dùng --period hoặc --from/--to, không dùng cả hai",
                    "give --period or --from/--to, not both"),
    "report_area": ("dùng --province hoặc --border, không dùng cả hai",
                    "give --province or --border, not both"),
    "report_written": ("Đã ghi báo cáo: {path}", "Report written: {path}"),
    "report_no_soffice": ("xuất PDF cần LibreOffice (soffice): cài gói "
                          "libreoffice-writer-nogui hoặc đặt BIENMOC_SOFFICE; các định dạng "
                          "docx, html, md không cần",
                          "PDF output needs LibreOffice (soffice): install "
                          "libreoffice-writer-nogui or set BIENMOC_SOFFICE; docx, html and md "
                          "work without it"),
    "report_template": ("mẫu báo cáo phải là tệp .docx: {path}",
                        "the report template must be a .docx file: {path}"),
    "report_template_fmt": ("mẫu --template chỉ dùng cho định dạng docx và pdf, không dùng cho "
                            "{fmt}", "--template applies to docx and pdf output, not {fmt}"),
    "check_failed": ("{n} quy tắc không đạt", "{n} rule(s) failed"),
    "check_passed": ("Đạt tất cả {n} quy tắc thể thức (Nghị định 30/2020/NĐ-CP)",
                     "All {n} format rules pass (Decree 30/2020/NĐ-CP)"),
    "check_not_docx": ("không đọc được tệp DOCX {path}: {msg}", "cannot read the DOCX {path}: "
                       "{msg}"),
})

_CHECK_HEAD = {"vi": ("Quy tắc", "Kết quả", "Thực tế"), "en": ("Rule", "Result", "Found")}
_PASS = {"vi": ("ĐẠT", "KHÔNG ĐẠT"), "en": ("PASS", "FAIL")}


def _lang(ctx, lang):
    return lang or ctx.find_root().obj.get("lang") or "vi"


def _default_name(province, border, start, end, fmt) -> str:
    area = province or border or "toan-tuyen"
    slug = re.sub(r"[^a-z0-9]+", "-", fold(area)).strip("-")
    return f"bao-cao-{slug}-{start:%Y%m%d}-{end:%Y%m%d}.{fmt}"


@click.group(invoke_without_command=True)
@click.option("--province", default=None, metavar="NAME", help="The province (e.g. 'Sơn La').")
@click.option("--border", default=None, metavar="CODE", help="A whole border: CN, LA, KH.")
@click.option("--from", "start", default=None, type=DATE, help="Period start (inclusive).")
@click.option("--to", "end", default=None, type=DATE, help="Period end (inclusive).")
@click.option("--period", default=None, metavar="P",
              help="2026-Q3, 2026-H1, 2026-9M (first nine months), 2026 or 2026-06.")
@click.option("--as-of", "as_of", default=None, type=DATE,
              help="Works status and inspections due as of this date (default: period end).")
@click.option("--format", "fmt", type=click.Choice(["docx", "html", "md", "pdf"]),
              default=None, help="Output format (default: the output's suffix, else docx).")
@click.option("--template", default=None, type=click.Path(exists=True, dir_okay=False),
              help="A DOCX template with docxtpl placeholders (see docs/report.md).")
@click.option("--lang", "lang", type=click.Choice(["vi", "en"]), default=None,
              help="Language of the report (default: the CLI's).")
@click.option("--no-maps", "no_maps", is_flag=True, help="Leave out the map and the chart.")
@click.option("--output", "-o", default=None, type=OUTPUT, help="Output file.")
@click.pass_context
def report(ctx, province, border, start, end, period, as_of, fmt, template, lang, no_maps,
           output):
    """The periodic border-management report (official DOCX format), or `report check`."""
    if ctx.invoked_subcommand is not None:
        return
    from bienmoc.errors import InvalidData
    from bienmoc.report import build_report, parse_period, render
    from bienmoc.report.pdf import soffice_path

    if province and border:
        raise UserError("report_area")
    if period and (start or end):
        raise UserError("report_both")
    if period:
        try:
            start, end = parse_period(period)
        except InvalidData:
            raise UserError("report_period", value=period) from None
    elif not (start and end):
        raise UserError("report_when")
    if start > end:
        raise UserError("from_after_to", start=start, end=end)
    if template and not template.lower().endswith(".docx"):
        raise UserError("report_template", path=template)
    fmt = fmt or (Path(output).suffix.lstrip(".").lower() if output else "docx")
    if fmt not in ("docx", "html", "md", "pdf"):
        fmt = "docx"
    if template and fmt not in ("docx", "pdf"):
        raise UserError("report_template_fmt", fmt=fmt)
    if fmt == "pdf" and soffice_path() is None:
        raise UserError("report_no_soffice")
    store = _store(ctx)
    b, p = border_option(ctx, border), province_option(ctx, province)
    rep = build_report(store, province=p, border=b, start=start, end=end,
                       lang=_lang(ctx, lang), as_of=as_of, with_maps=not no_maps)
    path = output or _default_name(p, b, start, end, fmt)
    render(rep, path, fmt, template=template)
    click.echo(MSG["report_written"][ctx.find_root().obj.get("lang") == "en"].format(
        path=path))


@report.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def check(ctx, file):
    """Check a DOCX against the official format (Decree 30/2020/NĐ-CP), rule by rule."""
    from bienmoc.report.check import check_docx

    lang = _lang(ctx, None)
    try:
        results = check_docx(file)
    except Exception as e:  # python-docx: not a zip / not a Word document
        if type(e).__module__.startswith(("docx", "zipfile")) or isinstance(e, (KeyError,
                                                                                 ValueError)):
            raise UserError("check_not_docx", path=file, msg=str(e)) from None
        raise
    head = _CHECK_HEAD[lang]
    ok, bad = _PASS[lang]
    width = max(len(ok), len(bad))
    click.echo(f"{head[1]:<{width}}  {head[0]} — {head[2]}")
    for r in results:
        click.echo(f"{(ok if r.ok else bad):<{width}}  {r.describe(lang)} — {r.found}")
    failed = [r for r in results if not r.ok]
    if failed:
        click.echo(MSG["check_failed"][lang == "en"].format(n=len(failed)), err=True)
        ctx.exit(1)
    click.echo(MSG["check_passed"][lang == "en"].format(n=len(results)))
