"""``bienmoc report check``: does a DOCX follow the official format (Decree 30/2020/NĐ-CP)?

Each rule gives pass/fail with what was found. The rules are those :mod:`bienmoc.report.docx`
writes, so the built-in output passes all; a user template's output is checked the same way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.oxml.ns import qn
from docx.shared import Length

from bienmoc.model.labels import in_lang

__all__ = ["check_docx", "RuleResult", "RULES"]

#: rule id → (Vietnamese, English) description
RULES = {
    "a4": ("Khổ giấy A4 (210 × 297 mm)", "A4 paper (210 × 297 mm)"),
    "margins": ("Lề trên/dưới 20–25 mm, trái 30–35 mm, phải 15–20 mm",
                "Margins top/bottom 20–25 mm, left 30–35 mm, right 15–20 mm"),
    "font": ("Phông Times New Roman cho mọi kiểu chữ và mọi bảng mã (ascii/hAnsi/cs/eastAsia)",
             "Times New Roman in every style and script slot (ascii/hAnsi/cs/eastAsia)"),
    "size": ("Cỡ chữ nội dung 13–14 pt", "Body text 13–14 pt"),
    "motto": ("Quốc hiệu, tiêu ngữ (có đường kẻ) trong bảng hai cột không viền, cùng cơ quan "
              "ban hành và số, ký hiệu",
              "National motto (with its rule) in a borderless two-column table with the "
              "issuing body and document number"),
    "date": ("Địa danh, ngày tháng năm in nghiêng", "Place-and-date line in italics"),
    "page_numbers": ("Số trang ở giữa phía trên, từ trang 2",
                     "Page numbers centred at the top from page 2"),
}

_MOTTO = (("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"),
          ("SOCIALIST REPUBLIC OF VIET NAM", "Independence - Freedom - Happiness"))
_DATE = re.compile(r"^\S.*, (ngày \d{1,2} tháng \d{1,2} năm \d{4}|\d{1,2} [A-Z][a-z]+ \d{4})$")
_NUMBER = re.compile(r"^(Số|No\.?)\s*:.*/")
_SLOTS = ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia")
_FONT = "Times New Roman"


@dataclass
class RuleResult:
    rule: str
    ok: bool
    found: str

    def describe(self, lang: str = "vi") -> str:
        return in_lang(RULES[self.rule], lang)


def _mm(v: Length | None) -> float | None:
    return None if v is None else round(v.mm, 1)


def _a4(doc) -> RuleResult:
    bad = [f"{_mm(s.page_width)}×{_mm(s.page_height)}" for s in doc.sections
           if s.page_width is None or abs(s.page_width.mm - 210) > 1
           or abs(s.page_height.mm - 297) > 1]
    found = ", ".join(bad) or f"{_mm(doc.sections[0].page_width)}×" \
                                f"{_mm(doc.sections[0].page_height)} mm"
    return RuleResult("a4", not bad, found)


def _margins(doc) -> RuleResult:
    limits = {"top_margin": (20, 25), "bottom_margin": (20, 25), "left_margin": (30, 35),
              "right_margin": (15, 20)}
    found, ok = [], True
    for s in doc.sections:
        for attr, (lo, hi) in limits.items():
            v = _mm(getattr(s, attr))
            if v is None or not lo - 0.1 <= v <= hi + 0.1:
                ok = False
            found.append(f"{attr.split('_')[0]} {v}")
    return RuleResult("margins", ok, ", ".join(found[:4]) + " mm")


def _rfonts_ok(rfonts) -> tuple[bool, str]:
    if rfonts is None:
        return True, ""
    theme = [a for a in rfonts.attrib if a.endswith("Theme") or a.endswith("theme")]
    if theme:
        return False, "theme font"
    vals = [rfonts.get(qn(a)) for a in _SLOTS]
    bad = [f"{a.split(':')[1]}={v}" for a, v in zip(_SLOTS, vals) if v is not None and v != _FONT]
    return not bad, ", ".join(bad)


def _font(doc) -> RuleResult:
    problems = []
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = None if defaults is None else defaults.find(qn("w:rPrDefault") + "/" + qn("w:rPr"))
    rf = None if rpr is None else rpr.find(qn("w:rFonts"))
    if rf is None or any(rf.get(qn(a)) != _FONT for a in _SLOTS):
        problems.append("docDefaults: " + ("none" if rf is None else ", ".join(
            f"{a.split(':')[1]}={rf.get(qn(a))}" for a in _SLOTS)))
    for style in doc.styles:
        el = style.element.find(qn("w:rPr") + "/" + qn("w:rFonts"))
        ok, why = _rfonts_ok(el)
        if not ok:
            problems.append(f"{style.name}: {why}")
    normal = doc.styles["Normal"].element.find(qn("w:rPr") + "/" + qn("w:rFonts"))
    if normal is None or any(normal.get(qn(a)) != _FONT for a in _SLOTS):
        problems.append("Normal: not set for every slot")
    body = doc.element.body
    for rf in body.iter(qn("w:rFonts")):
        ok, why = _rfonts_ok(rf)
        if not ok:
            problems.append(f"run: {why}")
            break
    return RuleResult("font", not problems, "; ".join(problems[:4]) or _FONT)


def _size(doc) -> RuleResult:
    size = doc.styles["Normal"].font.size
    pt = None if size is None else size.pt
    return RuleResult("size", pt is not None and 13 <= pt <= 14, f"{pt} pt")


def _tables_with_motto(doc):
    for t in doc.tables[:3]:
        text = "\n".join(c.text for r in t.rows for c in r.cells)
        for m in _MOTTO:
            if m[0] in text and m[1] in text:
                yield t, m


def _borderless(table) -> bool:
    tblpr = table._tbl.tblPr
    borders = tblpr.find(qn("w:tblBorders"))
    style = table.style.name if table.style is not None else ""
    if borders is None:
        return style in ("", "Normal Table")
    return all(e.get(qn("w:val")) in ("nil", "none") for e in borders)


def _has_rule(cell, motto2: str) -> bool:
    pars = cell.paragraphs
    for i, p in enumerate(pars):
        if motto2 in p.text:
            # a border under the motto's paragraph, or over the next (empty) one
            for q, edge in ((pars[i], "w:bottom"), *((q, "w:top") for q in pars[i + 1:i + 2])):
                bdr = q._p.pPr.find(qn("w:pBdr")) if q._p.pPr is not None else None
                if bdr is not None and bdr.find(qn(edge)) is not None:
                    return True
            # a drawn line (shape) right under the motto also counts
            xml = "".join(q._p.xml for q in pars[i:i + 2])
            if "<v:line" in xml or "wps:wsp" in xml:
                return True
    return False


def _motto(doc) -> RuleResult:
    for t, (m1, m2) in _tables_with_motto(doc):
        cols = len(t.columns)
        cells = [c for r in t.rows for c in r.cells]
        motto_cell = next(c for c in cells if m2 in c.text)
        left = "\n".join(r.cells[0].text for r in t.rows)
        number = any(_NUMBER.match(line.strip()) for line in left.splitlines())
        checks = {"two columns": cols == 2, "no borders": _borderless(t),
                  "rule under motto": _has_rule(motto_cell, m2),
                  "issuing body + number on the left": number and m1 not in left}
        bad = [k for k, v in checks.items() if not v]
        return RuleResult("motto", not bad, "missing: " + ", ".join(bad) if bad else m1)
    return RuleResult("motto", False, "no table with the national motto")


def _date(doc) -> RuleResult:
    pars = [p for t in doc.tables[:3] for r in t.rows for c in r.cells for p in c.paragraphs]
    pars += doc.paragraphs[:15]
    for p in pars:
        text = p.text.strip()
        if _DATE.match(text):
            runs = [r for r in p.runs if r.text.strip()]
            italic = bool(runs) and all(
                r.italic or (r.italic is None and p.style is not None and p.style.font.italic)
                for r in runs)
            return RuleResult("date", italic, text + ("" if italic else " (not italic)"))
    return RuleResult("date", False, "no place-and-date line")


def _has_page_field(header) -> bool:
    xml = header._element.xml
    return "PAGE" in xml and ("w:instrText" in xml or "w:fldSimple" in xml)


def _page_numbers(doc) -> RuleResult:
    s = doc.sections[0]
    if not s.different_first_page_header_footer:
        return RuleResult("page_numbers", False, "no different first-page header")
    if s.first_page_header.is_linked_to_previous is False and _has_page_field(
            s.first_page_header):
        return RuleResult("page_numbers", False, "a page number on page 1")
    if not _has_page_field(s.header):
        return RuleResult("page_numbers", False, "no PAGE field in the header")
    centred = any("PAGE" in p._p.xml and p.alignment is not None and p.alignment == 1
                  for p in s.header.paragraphs)
    return RuleResult("page_numbers", centred, "PAGE field, centred" if centred
                      else "PAGE field not centred")


def check_docx(path) -> list[RuleResult]:
    """Every rule of :data:`RULES`, in order, for the DOCX at ``path``."""
    doc = Document(str(Path(path)))
    return [_a4(doc), _margins(doc), _font(doc), _size(doc), _motto(doc), _date(doc),
            _page_numbers(doc)]
