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
    if name in ("write_docx", "render"):
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
