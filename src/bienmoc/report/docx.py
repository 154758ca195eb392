"""The DOCX writer, in the official format of Decree 30/2020/NĐ-CP (thể thức văn bản hành chính):

* A4 portrait; margins top/bottom 20 mm, left 30 mm, right 15 mm (the decree's ranges are
  20–25, 20–25, 30–35 and 15–20 mm);
* Times New Roman in every style, for every script slot (``w:rFonts`` ascii, hAnsi, cs and
  eastAsia, theme fonts removed) so Vietnamese never falls back to another font; body 14 pt;
* the heading block: a two-column table without borders — issuing body and "Số: …/BC-…" on the
  left; "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" / "Độc lập - Tự do - Hạnh phúc" with its rule, and
  the place-and-date line in italics, on the right;
* page numbers centred in the header from page 2 (a different, empty first-page header; a PAGE
  field in the main header).

English output uses the same layout with English text. A user template (docxtpl: Jinja
placeholders inside a DOCX, see ``docs/report.md``) replaces the built-in layout.
python-docx has no API for borders, fields or rFonts' script slots: the few ``oxml`` helpers
below write those elements directly (WordprocessingML, ECMA-376 §17).
"""
from __future__ import annotations

import calendar
import io
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from bienmoc.report.model import Image, Placeholder, Report, Table

__all__ = ["write_docx", "date_line", "template_context", "FONT", "MARGINS_MM", "MOTTO"]

FONT = "Times New Roman"
BODY_PT = 14
#: top, bottom, left, right (mm)
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
MOTTO = {"vi": ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"),
         "en": ("SOCIALIST REPUBLIC OF VIET NAM", "Independence - Freedom - Happiness")}
_SLOTS = ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia")
_THEME = ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme")


def date_line(report: Report) -> str:
    """'Sơn La, ngày 30 tháng 6 năm 2026' (the decree: day < 10 and months 1–2 with a leading
    zero) or 'Sơn La, 30 June 2026'."""
    d = report.issued
    if report.lang == "en":
        return f"{report.place}, {d.day} {calendar.month_name[d.month]} {d.year}"
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return f"{report.place}, ngày {d.day:02d} tháng {month} năm {d.year}"


# -- oxml helpers ----------------------------------------------------------------------------

def set_fonts(rpr_owner) -> None:
    """Times New Roman in every script slot of an element's ``w:rPr`` (theme fonts removed)."""
    rpr = rpr_owner.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        # w:rPr comes after w:pPr (styles) or first (rPrDefault)
        ppr = rpr_owner.find(qn("w:pPr"))
        if ppr is not None:
            ppr.addnext(rpr)
        else:
            rpr_owner.append(rpr)
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for a in _THEME:
        if rfonts.get(qn(a)) is not None:
            del rfonts.attrib[qn(a)]
    for a in _SLOTS:
        rfonts.set(qn(a), FONT)


def _styles(doc) -> None:
    # the document defaults, then every style: no text can fall back to a theme font
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr_default = defaults.find(qn("w:rPrDefault"))
        if rpr_default is not None:
            set_fonts(rpr_default)
    for style in doc.styles:
        if style.type in (WD_STYLE_TYPE.PARAGRAPH, WD_STYLE_TYPE.CHARACTER,
                          WD_STYLE_TYPE.TABLE):
            set_fonts(style.element)
            if style.type != WD_STYLE_TYPE.TABLE and style.font.color is not None \
                    and style.font.color.type is not None:
                style.font.color.rgb = RGBColor(0, 0, 0)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(BODY_PT)
    pf = normal.paragraph_format
    pf.space_before = Pt(6)
    pf.space_after = Pt(0)
    pf.line_spacing = 1.15
    for name, size in (("Heading 1", BODY_PT), ("Heading 2", BODY_PT), ("Caption", 12)):
        st = doc.styles[name]
        st.font.size = Pt(size)
        st.font.bold = name != "Caption"
        st.font.italic = name == "Caption"
        st.font.color.rgb = RGBColor(0, 0, 0)
        st.paragraph_format.space_before = Pt(6)
        st.paragraph_format.space_after = Pt(3)
        st.paragraph_format.keep_with_next = name != "Caption"


def _page(doc) -> None:
    for s in doc.sections:
        s.orientation = WD_ORIENT.PORTRAIT
        s.page_width, s.page_height = Mm(210), Mm(297)
        s.top_margin, s.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
        s.left_margin, s.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
        s.header_distance = Mm(10)
        s.different_first_page_header_footer = True
        p = s.header.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _page_field(p)
        s.first_page_header.paragraphs[0].text = ""


def _page_field(paragraph) -> None:
    """A PAGE field (begin / instruction / separate / result / end)."""
    def fld(kind):
        r = paragraph.add_run()
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        r._r.append(el)
        return r

    fld("begin")
    r = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    r._r.append(instr)
    fld("separate")
    paragraph.add_run("2")
    fld("end")
    for run in paragraph.runs:
        run.font.size = Pt(BODY_PT)


def _no_borders(table) -> None:
    tblpr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tblpr.append(borders)


def _rule_below(cell, indent_mm: float) -> None:
    """The short rule under the motto / the issuing body: an empty 2 pt paragraph with a top
    border (so the text above never wraps), its length set by equal left and right indents."""
    paragraph = cell.add_paragraph()
    paragraph.paragraph_format.space_before = Pt(0)
    paragraph.paragraph_format.line_spacing = 1.0
    paragraph.add_run().font.size = Pt(2)
    ppr = paragraph._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        top.set(qn(k), v)
    bdr.append(top)
    ppr.append(bdr)
    paragraph.paragraph_format.left_indent = Mm(indent_mm)
    paragraph.paragraph_format.right_indent = Mm(indent_mm)


def _cell_par(cell, text: str, *, size=13, bold=False, italic=False, first=False, rule=None):
    p = cell.paragraphs[0] if first else cell.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.space_before = Pt(0)
    p.paragraph_format.first_line_indent = Mm(0)
    run = p.add_run(text)
    run.font.size, run.bold, run.italic = Pt(size), bold, italic
    if rule is not None:
        _rule_below(cell, rule)
    return p


# -- the document ----------------------------------------------------------------------------

def _heading_block(doc, report: Report) -> None:
    t = doc.add_table(rows=2, cols=2)
    _no_borders(t)
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    widths = (Mm(62), Mm(103))
    for col, w in zip(t.columns, widths):  # the grid (LibreOffice) and each cell (Word)
        col.width = w
    for row in t.rows:
        for c, w in zip(row.cells, widths):
            c.width = w
    left, right = t.rows[0].cells
    lines = report.issuing_body.split("\n")
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        _cell_par(left, line, size=13, bold=last or len(lines) == 1, first=i == 0,
                  rule=16 if last else None)
    motto1, motto2 = MOTTO[report.lang]
    _cell_par(right, motto1, size=12 if report.lang == "vi" else 13, bold=True, first=True)
    _cell_par(right, motto2, size=13, bold=True, rule=21 if report.lang == "vi" else 18)
    _cell_par(t.rows[1].cells[0], report.number, size=13, first=True)
    _cell_par(t.rows[1].cells[1], date_line(report), size=14, italic=True, first=True)


def _paragraph(doc, text: str):
    p = doc.add_paragraph(text)
    p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    p.paragraph_format.first_line_indent = Mm(10)
    return p


def _placeholder(doc, text: str):
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    p.paragraph_format.first_line_indent = Mm(10)
    run = p.add_run(text)
    run.italic = True
    run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    return p


def _table(doc, table: Table) -> None:
    cap = doc.add_paragraph(table.caption, style="Caption")
    cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
    cap.paragraph_format.keep_with_next = True
    df = table.frame
    t = doc.add_table(rows=1, cols=len(df.columns), style="Table Grid")
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, name in zip(t.rows[0].cells, df.columns):
        _cell_text(cell, str(name), bold=True)
    for values in df.itertuples(index=False):
        cells = t.add_row().cells
        for cell, v in zip(cells, values):
            _cell_text(cell, "" if v is None else str(v))


def _cell_text(cell, text: str, bold: bool = False) -> None:
    p = cell.paragraphs[0]
    p.paragraph_format.space_before = Pt(1)
    p.paragraph_format.first_line_indent = Mm(0)
    p.paragraph_format.line_spacing = 1.0
    run = p.add_run(text)
    run.font.size = Pt(11)
    run.bold = bold


def _image(doc, image: Image) -> None:
    doc.add_picture(io.BytesIO(image.png), width=Mm(min(image.width_mm, 165)))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.paragraphs[-1].paragraph_format.first_line_indent = Mm(0)
    doc.paragraphs[-1].paragraph_format.keep_with_next = True  # the caption stays with it
    cap = doc.add_paragraph(image.caption, style="Caption")
    cap.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _signature(doc, report: Report) -> None:
    t = doc.add_table(rows=1, cols=2)
    _no_borders(t)
    left, right = t.rows[0].cells
    for i, line in enumerate(report.recipients):
        p = left.paragraphs[0] if i == 0 else left.add_paragraph()
        p.paragraph_format.space_before = Pt(0)
        p.paragraph_format.first_line_indent = Mm(0)
        run = p.add_run(line)
        run.font.size = Pt(12 if i == 0 else 11)
        run.bold = run.italic = i == 0
    _cell_par(right, report.signer, size=14, bold=True, first=True)
    p = right.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run("[Ký, ghi rõ họ tên]" if report.lang == "vi" else "[Signature, full name]")
    run.italic = True
    run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def build_document(report: Report):
    """The built-in layout as a python-docx Document."""
    doc = Document()
    _styles(doc)
    _page(doc)
    _heading_block(doc, report)
    for text, bold in ((report.title, True), (report.subtitle, True)):
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_before = Pt(12 if text == report.title else 0)
        run = p.add_run(text)
        run.bold = bold
    for sec in report.sections:
        if sec.heading:
            doc.add_heading(sec.heading, level=1)
        for b in sec.blocks:
            if isinstance(b, str):
                _paragraph(doc, b)
            elif isinstance(b, Placeholder):
                _placeholder(doc, b.text)
            elif isinstance(b, Table):
                _table(doc, b)
            elif isinstance(b, Image):
                _image(doc, b)
    doc.add_paragraph()
    _signature(doc, report)
    return doc


def _nested(flat: dict) -> dict:
    out: dict = {}
    for key, v in flat.items():
        node = out
        *path, last = key.split(".")
        for k in path:
            node = node.setdefault(k, {})
        node[last] = v
    return out


def template_context(report: Report, tpl=None) -> dict:
    """What a user template sees (documented in docs/report.md)."""
    images = report.images()
    if tpl is not None:
        from docxtpl import InlineImage

        pics = [InlineImage(tpl, io.BytesIO(i.png), width=Mm(min(i.width_mm, 165)))
                for i in images]
    else:
        pics = [None] * len(images)
    sections = []
    for sec in report.sections:
        blocks = []
        for b in sec.blocks:
            if isinstance(b, str):
                blocks.append({"type": "text", "text": b})
            elif isinstance(b, Placeholder):
                blocks.append({"type": "placeholder", "text": b.text})
            elif isinstance(b, Table):
                blocks.append({"type": "table", "caption": b.caption,
                               "columns": [str(c) for c in b.frame.columns],
                               "rows": [[("" if v is None else str(v)) for v in r]
                                        for r in b.frame.itertuples(index=False)]})
            elif isinstance(b, Image):
                blocks.append({"type": "image", "caption": b.caption,
                               "image": pics[images.index(b)]})
        sections.append({"heading": sec.heading, "blocks": blocks,
                         "paragraphs": [x["text"] for x in blocks if x["type"] == "text"],
                         "placeholders": [x["text"] for x in blocks
                                          if x["type"] == "placeholder"],
                         "tables": [x for x in blocks if x["type"] == "table"],
                         "images": [x for x in blocks if x["type"] == "image"]})
    return {"figures": _nested(report.figures), "figures_flat": dict(report.figures),
            "sections": sections, "title": report.title, "subtitle": report.subtitle,
            "issuing_body": report.issuing_body, "issuing_body_lines":
                report.issuing_body.split("\n"),
            "number": report.number, "place": report.place, "date_line": date_line(report),
            "issued": report.issued.isoformat(), "lang": report.lang,
            "period_start": report.period_start.isoformat(),
            "period_end": report.period_end.isoformat(),
            "period_label": report.figures.get("period.label", ""),
            "motto": list(MOTTO[report.lang]), "signer": report.signer,
            "recipients": report.recipients,
            "map": pics[0] if pics else None, "chart": pics[1] if len(pics) > 1 else None}


def write_docx(report: Report, path, *, template=None) -> Path:
    """Write ``report`` as DOCX: the built-in official layout, or ``template`` (a DOCX with
    docxtpl placeholders) filled with :func:`template_context`."""
    path = Path(path)
    if template is not None:
        from docxtpl import DocxTemplate

        tpl = DocxTemplate(str(template))
        tpl.render(template_context(report, tpl))
        tpl.save(str(path))
        return path
    build_document(report).save(str(path))
    return path
