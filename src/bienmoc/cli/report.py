"""``bienmoc report``: the periodic report (DOCX/HTML/Markdown/PDF) and ``report check``."""
from __future__ import annotations

import re
from pathlib import Path

import click

from bienmoc.model.places import ascii_fold
from bienmoc.cli.lang import HELP
from bienmoc.cli.main import (DATE, MSG, OUTPUT, UserError, _store, border_option,
                              province_option)
from bienmoc.fmt import fmt_number

HELP.update({
    "report": ("Báo cáo định kỳ công tác quản lý biên giới (DOCX theo thể thức văn bản hành "
               "chính), hoặc 'report check'.", None),
    "report --province": ("Tỉnh (tên như trong kho dữ liệu, ví dụ 'Sơn La').", None),
    "report --border": ("Cả một tuyến biên giới: CN, LA, KH.", None),
    "report --from": ("Ngày đầu kỳ báo cáo (tính cả ngày này).", None),
    "report --to": ("Ngày cuối kỳ báo cáo (tính cả ngày này).", None),
    "report --period": ("Kỳ báo cáo: 2026-Q3 (quý), 2026-H1 (6 tháng), 2026-9M (9 tháng đầu "
                        "năm), 2026 (cả năm) hoặc 2026-06 (một tháng).", None),
    "report --as-of": ("Tình trạng công trình và mốc đến hạn kiểm tra tính đến ngày này (mặc "
                       "định: ngày cuối kỳ).", None),
    "report --format": ("Định dạng tệp: docx, html, md, pdf (mặc định: theo đuôi tệp của "
                        "--output, nếu không có thì docx).", None),
    "report --template": ("Mẫu DOCX có các chỗ điền docxtpl (xem docs/report.md).", None),
    "report --lang": ("Ngôn ngữ của báo cáo (mặc định: ngôn ngữ của lệnh).", None),
    "report --no-maps": ("Bỏ bản đồ và biểu đồ.", None),
    "report --output": ("Tệp kết quả (mặc định: tên theo địa bàn và kỳ báo cáo).", None),
    "report check": ("Kiểm tra tệp DOCX theo thể thức văn bản (Nghị định 30/2020/NĐ-CP), từng "
                     "quy tắc một.", None),
})

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
                     "All {n} format rules pass (Decree 30/2020/ND-CP)"),
    "check_not_docx": ("không đọc được tệp DOCX {path}: {msg}", "cannot read the DOCX {path}: "
                       "{msg}"),
})

_CHECK_HEAD = {"vi": ("Quy tắc", "Kết quả", "Thực tế"), "en": ("Rule", "Result", "Found")}
_PASS = {"vi": ("ĐẠT", "KHÔNG ĐẠT"), "en": ("PASS", "FAIL")}


#: What :func:`bienmoc.report.check.check_docx` found, in Vietnamese: its "found" texts are
#: fixed English phrases around the document's own values (sizes, style names, its text).
_FOUND_VI = [(re.compile(p), vi) for p, vi in (
    (r"\bno table with the national motto\b", "không có bảng chứa quốc hiệu, tiêu ngữ"),
    (r"\bmissing: ", "thiếu: "), (r"\btwo columns\b", "hai cột"),
    (r"\bno borders\b", "không viền"), (r"\brule under motto\b", "đường kẻ dưới tiêu ngữ"),
    (r"\bissuing body \+ number on the left\b", "cơ quan ban hành và số, ký hiệu bên trái"),
    (r" \(not italic\)", " (không in nghiêng)"),
    (r"\bno place-and-date line\b", "không có dòng địa danh, ngày tháng"),
    (r"\bno different first-page header\b", "trang đầu không có đầu trang riêng"),
    (r"\ba page number on page 1\b", "trang 1 có số trang"),
    (r"\bno PAGE field in the header\b", "đầu trang không có trường PAGE"),
    (r"\bPAGE field, centred\b", "trường PAGE, căn giữa"),
    (r"\bPAGE field not centred\b", "trường PAGE không căn giữa"),
    (r"\btheme font\b", "phông theo chủ đề"), (r"\bnot set for every slot\b",
                                                "chưa đặt cho mọi bảng mã"),
    (r"\bnone\b", "không có"), (r"\brun: ", "đoạn chữ: "),
    (r"\btop (?=[\d-]|None)", "trên "), (r"\bbottom (?=[\d-]|None)", "dưới "),
    (r"\bleft (?=[\d-]|None)", "trái "), (r"\bright (?=[\d-]|None)", "phải "),
    (r"\bNone\b", "—"))]
_NUM = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")


def _found(text: str, lang: str) -> str:
    """A rule's finding in ``lang``: fixed phrases translated, decimals as 3.785,7 / 3,785.7
    (:func:`bienmoc.fmt.fmt_number`); the document's own text as it is."""
    if lang == "vi":
        for pat, vi in _FOUND_VI:
            text = pat.sub(vi, text)
    else:
        text = re.sub(r"\bNone\b", "—", text)
    return _NUM.sub(lambda m: fmt_number(float(m.group()), lang), text)


def _lang(ctx, lang):
    return lang or ctx.find_root().obj.get("lang") or "vi"


def _default_name(province, border, start, end, fmt) -> str:
    area = province or border or "toan-tuyen"
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_fold(area)).strip("-")
    return f"bao-cao-{slug}-{start:%Y%m%d}-{end:%Y%m%d}.{fmt}"


@click.group(invoke_without_command=True)
@click.option("--province", default=None, metavar="NAME",
              help="The province, named as in the store.")
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
    """Check a DOCX against the official format (Decree 30/2020/ND-CP), rule by rule."""
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
        click.echo(f"{(ok if r.ok else bad):<{width}}  {r.describe(lang)} — "
                   f"{_found(r.found, lang)}")
    failed = [r for r in results if not r.ok]
    if failed:
        click.echo(MSG["check_failed"][lang == "en"].format(n=fmt_number(len(failed), lang)),
                   err=True)
        ctx.exit(1)
    click.echo(MSG["check_passed"][lang == "en"].format(n=fmt_number(len(results), lang)))
