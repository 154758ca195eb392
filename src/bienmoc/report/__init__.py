"""The periodic report (issue 13): the border-management section of a provincial report,
built from the store (:func:`build_report`) and written as DOCX in the official format of
Decree 30/2020/NĐ-CP (:func:`write_docx`), PDF (:func:`write_pdf`, LibreOffice), HTML and
Markdown; :func:`check_docx` verifies the official format of any DOCX.
"""
from bienmoc.report.build import VIOLATION_KINDS, build_report
from bienmoc.report.model import Image, Placeholder, Report, Section, Table
from bienmoc.report.period import parse_period, period_label

__all__ = ["build_report", "parse_period", "period_label", "Report", "Section", "Table",
           "Image", "Placeholder", "VIOLATION_KINDS", "write_docx", "write_pdf", "write_html",
           "write_markdown", "check_docx", "render"]


def __getattr__(name):  # the writers import python-docx etc. only when used
    if name == "write_docx":
        from bienmoc.report import docx as m
    elif name == "write_pdf":
        from bienmoc.report import pdf as m
    elif name in ("write_html", "write_markdown"):
        from bienmoc.report import text as m
    elif name == "check_docx":
        from bienmoc.report import check as m
    else:
        raise AttributeError(name)
    return getattr(m, name)


#: output formats of :func:`render` (file suffix = format)
FORMATS = ("docx", "html", "md", "pdf")


def render(report: Report, path, fmt: str | None = None, *, template=None):
    """Write ``report`` to ``path`` in ``fmt`` (default: the path's suffix)."""
    from pathlib import Path

    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
    if fmt == "docx":
        from bienmoc.report.docx import write_docx
        return write_docx(report, path, template=template)
    if fmt == "pdf":
        from bienmoc.report.pdf import write_pdf
        return write_pdf(report, path, template=template)
    if fmt == "html":
        from bienmoc.report.text import write_html
        return write_html(report, path)
    if fmt == "md":
        from bienmoc.report.text import write_markdown
        return write_markdown(report, path)
    from bienmoc.errors import InvalidData
    raise InvalidData(f"unknown report format: {fmt!r} ({', '.join(FORMATS)})")
