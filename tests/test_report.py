"""The periodic report (issue 13): figures from the analysis functions, the official DOCX format
and its checker, HTML/Markdown/PDF outputs, English, templates, the CLI and /reports.

Reports are built once per module on the demo store (the Sơn La first half of 2026 and the Lạng
Sơn first nine months of 2020 — the seeds' periods); the one LibreOffice conversion is a
module-scoped fixture (2 shared cores).
"""
from __future__ import annotations

import datetime as dt
import html as htmllib
import json
import os
import re
import shutil
import subprocess

import pandas as pd
import pytest
from click.testing import CliRunner
from docx import Document
from docx.shared import Mm

from bienmoc.analysis.inspections import inspections_done, inspections_due
from bienmoc.analysis.lengths import incident_counts
from bienmoc.analysis.progress import progress_summary, stalled_works
from bienmoc.analysis.status import marker_status
from bienmoc.cli.main import main
from bienmoc.errors import InvalidData
from bienmoc.report import (Placeholder, Table, build_report, check_docx, parse_period,
                            period_label, render)
from bienmoc.report.docx import write_docx
from bienmoc.report.text import html_text, markdown_text, write_markdown
from bienmoc.storage import GeoPackageStore

H1 = (dt.date(2026, 1, 1), dt.date(2026, 6, 30))
LS = (dt.date(2020, 1, 1), dt.date(2020, 9, 30))
MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"


def _need(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} missing — CI must have it (.ci/system-deps installs it)",
                        pytrace=False)
        pytest.skip(f"{tool} not installed")
    return exe


@pytest.fixture(scope="module")
def demo_store(demo_store_path):
    return GeoPackageStore(demo_store_path)


@pytest.fixture(scope="module")
def sonla(demo_store):
    return build_report(demo_store, province="Sơn La", start=H1[0], end=H1[1])


@pytest.fixture(scope="module")
def sonla_docx(sonla, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "son-la.docx"
    write_docx(sonla, path)
    return path


@pytest.fixture(scope="module")
def langson(demo_store):
    return build_report(demo_store, province="lạng sơn", start="01/01/2020", end="30/09/2020",
                        with_maps=False)


def _docx_text(path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join(parts)


def _docx_tables(path) -> list[list[list[str]]]:
    doc = Document(str(path))
    return [[[c.text for c in r.cells] for r in t.rows] for t in doc.tables]


# -- periods -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, start, end", [
    ("2026-Q3", (2026, 7, 1), (2026, 9, 30)), ("2026-H1", (2026, 1, 1), (2026, 6, 30)),
    ("2026-h2", (2026, 7, 1), (2026, 12, 31)), ("2026-9M", (2026, 1, 1), (2026, 9, 30)),
    ("2026", (2026, 1, 1), (2026, 12, 31)), ("2026-06", (2026, 6, 1), (2026, 6, 30)),
    ("2024-02", (2024, 2, 1), (2024, 2, 29)), ("2026-Q1", (2026, 1, 1), (2026, 3, 31))])
def test_parse_period(text, start, end):
    assert parse_period(text) == (dt.date(*start), dt.date(*end))


@pytest.mark.parametrize("bad", ["2026-Q5", "2026-H3", "2026-13", "26", "2026-13M", "Q3"])
def test_parse_period_refuses_what_it_cannot_read(bad):
    with pytest.raises(InvalidData, match="not a report period"):
        parse_period(bad)


def test_period_labels_as_the_seeds_write_them():
    assert period_label(*parse_period("2026-H1")) == "6 tháng đầu năm 2026"
    assert period_label(*parse_period("2020-9M")) == "9 tháng đầu năm 2020"
    assert period_label(*parse_period("2026-Q3")) == "quý III năm 2026"
    assert period_label(*parse_period("2026")) == "năm 2026"
    assert period_label(*parse_period("2026-Q3"), lang="en") == "Q3 2026"
    assert period_label(dt.date(2026, 1, 5), dt.date(2026, 3, 20)) == \
        "từ ngày 05/01/2026 đến ngày 20/03/2026"


# -- figures: the analysis functions' outputs ----------------------------------------------

def test_figures_equal_the_analysis_functions(demo_store, sonla):
    f = sonla.figures
    st = marker_status(demo_store, by=(), province="Sơn La").iloc[0]
    assert (f["markers.built"], f["markers.total"], f["stakes.built"], f["stakes.total"]) == (
        st["markers_built"], st["markers_total"], st["stakes_built"], st["stakes_total"])
    assert f["markers.sentence"] == st["summary_vi"]
    assert f["conditions.needs_action"] == st["needs_action"]
    assert f["gates.total"] == st["gates_total"] and f["gates.open"] == st["gates_open"]
    assert f["incidents.open"] == st["incidents_open"]

    ps = progress_summary(demo_store, as_of=H1[1], by=(), province="Sơn La").iloc[0]
    for k in ("not_started", "in_progress", "stalled", "completed"):
        assert f[f"works.{k}"] == ps[k]
    assert f["works.total"] == ps["works_total"]
    assert f["works.budget_planned_vnd"] == ps["budget_planned_vnd"]
    sw = stalled_works(demo_store, as_of=H1[1], province="Sơn La")
    assert [r["id"] for r in f["works.stalled_list"]] == list(sw["id"])
    assert [r["section"] for r in f["works.stalled_list"]] == list(sw["section"])

    due = inspections_due(demo_store, as_of=H1[1], province="Sơn La")
    assert f["inspections.due"] == len(due)
    assert f["inspections.never"] == int(due["never_inspected"].sum())
    done = inspections_done(demo_store, start=H1[0], end=H1[1], province="Sơn La")
    assert f["inspections.in_period"] == len(done) > 0
    assert f["inspections.unilateral"] + f["inspections.joint"] == len(done)

    inc = demo_store.read("incidents")
    inc = inc[inc["province"] == "Sơn La"]
    counts = incident_counts(inc, by=("kind",), start=H1[0], end=H1[1])
    assert f["incidents.total"] == counts["incidents"].sum()
    year = incident_counts(inc, by=("kind",), start="2025-01-01", end="2025-06-30")
    assert f["year_before.total"] == year["incidents"].sum()
    assert sum(f["incidents.monthly"].values()) == f["incidents.total"]
    assert list(f["incidents.monthly"]) == [f"2026-{m:02d}" for m in range(1, 7)]


def test_docx_figures_equal_the_functions(demo_store, sonla_docx):
    text = _docx_text(sonla_docx)
    for r in marker_status(demo_store, province="Sơn La").itertuples():
        assert r.summary_vi in text
    tables = _docx_tables(sonla_docx)
    stalled = next(t for t in tables if t[0][:2] == ["Mốc / đoạn", "Hạng mục"])
    sw = stalled_works(demo_store, as_of=H1[1], province="Sơn La")
    assert [row[0] for row in stalled[1:]] == list(sw["section"])
    assert [float(row[2].replace(",", ".")) for row in stalled[1:]] == list(sw["percent"])
    by_kind = next(t for t in tables if t[0][:2] == ["Loại", "Tổng số"])
    ps = progress_summary(demo_store, as_of=H1[1], by=("kind",), province="Sơn La")
    assert sorted(int(row[1]) for row in by_kind[1:]) == sorted(ps["works_total"])
    assert sum(int(row[4]) for row in by_kind[1:]) == ps["stalled"].sum() == 2


def test_son_la_report_states_the_seed_facts(sonla, sonla_docx):
    text = _docx_text(sonla_docx)
    assert "125/125" in text and "12/12" in text
    assert "cột mốc: 125/125 đã xây dựng; cọc dấu: 12/12" in text
    stalled = {r["section"] for r in sonla.figures["works.stalled_list"]}
    assert stalled == {"255", "222"}
    assert "Kiến trúc cảnh quan mốc 255" in text and "Kè bảo vệ mốc 222" in text
    assert "Sơn La, ngày 30 tháng 6 năm 2026" in text
    assert "UBND TỈNH SƠN LA" in text and "/BC-" in text
    assert "6 tháng đầu năm 2026" in text
    # the narrative placeholders are there, marked
    assert any(isinstance(b, Placeholder) for s in sonla.sections for b in s.blocks)
    assert "[Hội đàm, giao ban biên giới" in text


def test_lang_son_2020_states_the_two_violations(demo_store, langson, tmp_path):
    f = langson.figures
    assert f["scope.province"] == "Lạng Sơn"
    inc = demo_store.read("incidents")
    c = incident_counts(inc[inc["province"] == "Lạng Sơn"], by=("kind", "status"),
                        start=LS[0], end=LS[1])
    assert f["incidents.violations"] == 2 == c.loc[c["kind"] == "construction",
                                                   "incidents"].sum()
    assert f["incidents.violations_handled"] == 2
    write_docx(langson, tmp_path / "ls.docx")
    text = _docx_text(tmp_path / "ls.docx")
    assert "9 tháng đầu năm 2020" in text
    assert "02 vụ vi phạm Hiệp định" in text
    assert "phát hiện, xử lý" in text
    # top sections are named by their markers
    assert re.search(r"khu vực mốc \d+(/\d+)? – \d+", text)


def test_previous_and_year_before_periods(langson):
    f = langson.figures
    assert (f["previous.start"], f["previous.end"]) == ("2019-04-02", "2019-12-31")
    assert (f["year_before.start"], f["year_before.end"]) == ("2019-01-01", "2019-09-30")
    assert f["incidents.change"] == f["incidents.total"] - f["previous.total"]


def test_gate_changes_in_the_period(langson):
    changes = langson.figures["gates.changes"]
    assert [c["name"] for c in changes] == ["Cốc Nam"]
    assert changes[0]["status"] == "suspended"


def test_unknown_area_and_bad_dates_are_errors(demo_store):
    with pytest.raises(InvalidData, match="unknown province"):
        build_report(demo_store, province="Sơn Lx", start=H1[0], end=H1[1], with_maps=False)
    with pytest.raises(InvalidData, match="after it ends"):
        build_report(demo_store, province="Sơn La", start=H1[1], end=H1[0], with_maps=False)
    with pytest.raises(InvalidData, match="not a date"):
        build_report(demo_store, province="Sơn La", start="2026-13-01", end=H1[1])


# -- the official format and its checker ---------------------------------------------------

def test_built_in_docx_passes_every_rule(sonla_docx):
    results = check_docx(sonla_docx)
    assert [r.rule for r in results] == ["a4", "margins", "font", "size", "motto", "date",
                                         "page_numbers"]
    assert all(r.ok for r in results), [r for r in results if not r.ok]


def test_docx_layout_details(sonla_docx):
    doc = Document(str(sonla_docx))
    s = doc.sections[0]
    assert round(s.left_margin.mm) == 30 and round(s.right_margin.mm) == 15
    assert s.different_first_page_header_footer
    assert "PAGE" not in s.first_page_header._element.xml
    from docx.oxml.ns import qn
    rf = doc.styles["Normal"].element.find(qn("w:rPr") + "/" + qn("w:rFonts"))
    assert {rf.get(qn(f"w:{a}")) for a in ("ascii", "hAnsi", "cs", "eastAsia")} == {
        "Times New Roman"}
    head = doc.tables[0]
    assert len(head.columns) == 2
    assert head.rows[0].cells[1].paragraphs[0].text == MOTTO
    date = next(p for p in head.rows[1].cells[1].paragraphs if p.text)
    assert all(r.italic for r in date.runs if r.text)
    assert len(doc.inline_shapes) == 2  # the map and the chart


def test_check_fails_on_wrong_margins(sonla_docx, tmp_path):
    doc = Document(str(sonla_docx))
    doc.sections[0].left_margin = Mm(20)
    doc.save(tmp_path / "m.docx")
    bad = [r.rule for r in check_docx(tmp_path / "m.docx") if not r.ok]
    assert bad == ["margins"]


def test_check_fails_on_wrong_font(sonla_docx, tmp_path):
    doc = Document(str(sonla_docx))
    doc.styles["Normal"].font.name = "Arial"  # ascii/hAnsi only
    doc.save(tmp_path / "f.docx")
    bad = [r.rule for r in check_docx(tmp_path / "f.docx") if not r.ok]
    assert bad == ["font"]


def test_check_fails_everything_on_a_plain_document(tmp_path):
    doc = Document()
    doc.add_paragraph("Sơn La, ngày 30 tháng 6 năm 2026")  # not italic
    doc.save(tmp_path / "plain.docx")
    results = {r.rule: r.ok for r in check_docx(tmp_path / "plain.docx")}
    assert not any(results.values())


# -- other outputs -------------------------------------------------------------------------

def _blocks_text(report) -> list[str]:
    out = []
    for s in report.sections:
        out += [s.heading] if s.heading else []
        for b in s.blocks:
            if isinstance(b, str):
                out.append(b)
            elif isinstance(b, Placeholder):
                out.append(b.text)
            elif isinstance(b, Table):
                out += [str(v) for row in b.frame.itertuples(index=False) for v in row]
    return out


def test_html_and_markdown_carry_the_same_figures(sonla, sonla_docx, tmp_path):
    page = htmllib.unescape(html_text(sonla))
    md = write_markdown(sonla, tmp_path / "r.md").read_text(encoding="utf-8")
    docx_text = _docx_text(sonla_docx)
    for text in _blocks_text(sonla):
        assert text in page and text in docx_text, text
        assert text.replace("|", "\\|") in md, text
    assert page.count("data:image/png;base64,") == 2
    assert "src=\"http" not in page  # self-contained
    assert (tmp_path / "r_1.png").read_bytes()[:4] == b"\x89PNG"
    assert "](r_1.png)" in md and "](r_2.png)" in md
    assert "data:image/png;base64," in markdown_text(sonla)  # inline form


def test_english_report(demo_store, tmp_path):
    rep = build_report(demo_store, province="Sơn La", start=H1[0], end=H1[1], lang="en",
                       with_maps=False)
    path = render(rep, tmp_path / "en.docx")
    text = _docx_text(path)
    assert "SOCIALIST REPUBLIC OF VIET NAM" in text
    assert "markers: 125/125 built; reference stakes: 12/12" in text
    assert "Sơn La, 30 June 2026" in text and "the first half of 2026" in text
    assert "Stalled works" in text and "cột mốc" not in text
    assert all(r.ok for r in check_docx(path))


def test_user_template_overrides_the_layout(sonla, tmp_path):
    tpl = Document()
    tpl.add_paragraph("{{ issuing_body_lines[0] }} – {{ date_line }}")
    tpl.add_paragraph("Mốc: {{ figures.markers.built }}/{{ figures.markers.total }}; "
                      "chậm tiến độ: {% for w in figures.works.stalled_list %}{{ w.section }} "
                      "{% endfor %}")
    tpl.add_paragraph("{% for s in sections %}{{ s.heading }}|{% endfor %}")
    tpl.add_paragraph("{{ map }}")
    tpl.save(tmp_path / "tpl.docx")
    out = write_docx(sonla, tmp_path / "out.docx", template=tmp_path / "tpl.docx")
    doc = Document(str(out))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "UBND TỈNH SƠN LA – Sơn La, ngày 30 tháng 6 năm 2026" in text
    assert "Mốc: 125/125; chậm tiến độ: 255 222" in text
    assert "I. TÌNH HÌNH ĐƯỜNG BIÊN GIỚI, MỐC QUỐC GIỚI|" in text
    assert len(doc.inline_shapes) == 1


@pytest.fixture(scope="module")
def sonla_pdf(sonla_docx, tmp_path_factory):
    _need("soffice")
    from bienmoc.report.pdf import docx_to_pdf

    return docx_to_pdf(sonla_docx, tmp_path_factory.mktemp("pdf") / "son-la.pdf")


def test_pdf_first_page_shows_the_motto_block(sonla_pdf, tmp_path):
    _need("pdftotext")
    page1 = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(sonla_pdf), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert MOTTO in page1
    assert "Độc lập - Tự do - Hạnh phúc" in page1
    assert "Sơn La, ngày 30 tháng 6 năm 2026" in page1
    assert "UBND TỈNH SƠN LA" in page1
    page2 = subprocess.run(["pdftotext", "-f", "2", "-l", "2", str(sonla_pdf), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert page2.strip().startswith("2")  # the page number, at the top from page 2
    _need("pdftoppm")
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "50", "-png", str(sonla_pdf),
                    str(tmp_path / "p")], check=True)
    png = next(tmp_path.glob("p*.png"))
    from PIL import Image as PILImage

    im = PILImage.open(png).convert("L")
    assert abs(im.height / im.width - 297 / 210) < 0.01  # A4
    top = im.crop((0, 0, im.width, im.height // 6))
    assert top.getextrema()[0] < 100  # dark text in the heading block
    art = os.environ.get("BIENMOC_ARTIFACTS")
    if art:
        shutil.copy(png, os.path.join(art, "report-page1.png"))


def test_pdf_needs_libreoffice_clear_error(sonla, tmp_path, monkeypatch):
    from bienmoc.report.pdf import NoLibreOffice

    monkeypatch.setenv("BIENMOC_SOFFICE", str(tmp_path / "no-such-soffice"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NoLibreOffice, match="LibreOffice"):
        render(sonla, tmp_path / "r.pdf")


# -- CLI and server ------------------------------------------------------------------------

def _cli(*args):
    return CliRunner().invoke(main, list(args))


def test_cli_report_and_check(demo_store_path, tmp_path):
    out = tmp_path / "r.docx"
    r = _cli("--store", str(demo_store_path), "report", "--province", "Sơn La", "--period",
             "2026-H1", "--format", "docx", "-o", str(out), "--no-maps")
    assert r.exit_code == 0, r.output
    assert "125/125" in _docx_text(out)
    r = _cli("report", "check", str(out))
    assert r.exit_code == 0, r.output
    assert r.stdout.count("ĐẠT") == 7 and "KHÔNG ĐẠT" not in r.stdout
    bad = tmp_path / "bad.docx"
    doc = Document(str(out))
    doc.sections[0].top_margin = Mm(40)
    doc.save(bad)
    r = _cli("--lang", "en", "report", "check", str(bad))
    assert r.exit_code == 1
    assert "FAIL" in r.stdout and "1 rule(s) failed" in r.output


def test_cli_report_figures_equal_status_and_progress_json(demo_store_path, tmp_path):
    store = str(demo_store_path)
    out = tmp_path / "r.md"
    r = _cli("--store", store, "report", "--province", "Sơn La", "--period", "2026-H1", "-o",
             str(out), "--no-maps")
    assert r.exit_code == 0, r.output
    md = out.read_text(encoding="utf-8")
    status = json.loads(_cli("--store", store, "status", "--province", "Sơn La", "--format",
                             "json").stdout)
    assert all(s["summary_vi"] in md for s in status)
    prog = json.loads(_cli("--store", store, "progress", "--province", "Sơn La", "--as-of",
                           "2026-06-30", "--by", "", "--format", "json").stdout)
    total = prog["summary"][0]
    assert (f"chậm tiến độ {total['stalled']}, đã hoàn thành {total['completed']}") in md
    for w in prog["stalled"]:
        assert f"| {w['section']} | {w['title']} |" in md


def test_cli_errors_are_vietnamese_lines(demo_store_path, tmp_path):
    store = str(demo_store_path)
    r = _cli("--store", store, "report", "--province", "Sơn La", "--period", "2026-Q5")
    assert r.exit_code == 1 and "kỳ báo cáo không hợp lệ: 2026-Q5" in r.output
    r = _cli("--store", store, "report", "--province", "Sơn La")
    assert r.exit_code == 1 and "cần --period hoặc cả --from và --to" in r.output
    r = _cli("--store", store, "report", "--province", "Son Laa", "--period", "2026")
    assert r.exit_code == 1 and "Sơn La" in r.output  # did you mean
    r = _cli("--store", store, "--lang", "en", "report", "--period", "2026", "--province",
             "Sơn La", "--from", "2026-01-01")
    assert r.exit_code == 1 and "not both" in r.output
    tpl = tmp_path / "t.docx"
    Document().save(tpl)
    r = _cli("--store", store, "report", "--province", "Sơn La", "--period", "2026",
             "--template", str(tpl), "--format", "html")
    assert r.exit_code == 1 and "chỉ dùng cho định dạng docx và pdf" in r.output
    (tmp_path / "x.md").write_text("# không phải DOCX", encoding="utf-8")
    r = _cli("report", "check", str(tmp_path / "x.md"))
    assert r.exit_code == 1 and "không đọc được tệp DOCX" in r.output
    assert "Traceback" not in r.output


def test_reports_endpoint(demo_store_path, tmp_path):
    from fastapi.testclient import TestClient

    from bienmoc.api.app import create_app

    client = TestClient(create_app(GeoPackageStore(demo_store_path)))
    page = client.get("/reports")
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert "<form" in page.text and "Sơn La" in page.text
    assert "./reports?lang=vi" in client.get("/").text
    r = client.get("/reports", params={"province": "Sơn La", "period": "2026-H1",
                                       "maps": "false"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "bao-cao-son-la-20260101-20260630.docx" in r.headers["content-disposition"]
    (tmp_path / "d.docx").write_bytes(r.content)
    assert "125/125" in _docx_text(tmp_path / "d.docx")
    assert all(x.ok for x in check_docx(tmp_path / "d.docx"))
    r = client.get("/reports", params={"province": "Lạng Sơn", "from": "01/01/2020",
                                       "to": "30/09/2020", "format": "html", "lang": "en",
                                       "maps": "false"})
    assert r.status_code == 200 and "2 violations of the border-management agreement" in r.text
    r = client.get("/reports", params={"province": "Sơn La", "period": "2026-Q9"})
    assert r.status_code == 422 and "not a report period" in r.text


def test_demarcation_paragraph_when_the_summary_exists(demo_store, monkeypatch):
    """The line-sections layer is built elsewhere; when its summary is importable the report
    quotes it (the kilometres summed over the area's rows), else it leaves the paragraph out."""
    import sys
    import types

    calls = []

    def demarcation_summary(source, *, province=None, border=None):
        calls.append((province, border))
        return pd.DataFrame({"border": ["KH"], "province": ["Tây Ninh"],
                             "demarcated_km": [200.0], "not_demarcated_km": [40.5],
                             "total_km": [240.5]})

    fake = types.ModuleType("bienmoc.analysis.demarcation")
    fake.demarcation_summary = demarcation_summary
    monkeypatch.setitem(sys.modules, "bienmoc.analysis.demarcation", fake)
    rep = build_report(demo_store, province="Tây Ninh", start=H1[0], end=H1[1],
                       with_maps=False)
    assert calls == [("Tây Ninh", None)]
    assert (rep.figures["demarcation.demarcated_km"], rep.figures[
        "demarcation.not_demarcated_km"], rep.figures["demarcation.total_km"]) == (
        200.0, 40.5, 240.5)
    assert "Phân giới cắm mốc: đã phân giới 200,0 km, chưa phân giới 40,5 km (tổng 240,5 km)." \
        in rep.sections[1].blocks
    monkeypatch.setitem(sys.modules, "bienmoc.analysis.demarcation", None)  # not installed
    rep = build_report(demo_store, province="Tây Ninh", start=H1[0], end=H1[1],
                       with_maps=False)
    assert not any(k.startswith("demarcation.") for k in rep.figures)


def test_top_sections_equal_bienmoc_hotspots_json(demo_store_path, langson):
    """The "khu vực mốc X – Y" list is `bienmoc hotspots` (same bins and period) for the
    province's bins."""
    from bienmoc.report.build import TOP_SECTION_M

    r = _cli("--store", str(demo_store_path), "hotspots", "--bin", str(TOP_SECTION_M),
             "--from", "2020-01-01", "--to", "2020-09-30", "--top", "100", "--format", "json")
    assert r.exit_code == 0, r.output
    bins = [b for b in json.loads(r.stdout) if b["province"] == "Lạng Sơn"]
    mine = langson.figures["incidents.top_sections"]
    assert len(mine) == 3
    assert sorted((b["marker_from"], b["marker_to"], b["incidents"]) for b in bins) == sorted(
        (t["marker_from"], t["marker_to"], t["incidents"]) for t in mine)


def test_inspections_done_counts_effective_records_of_the_area(demo_store):
    # the demo's Lai Châu fact: 53 % of its inspection records are joint
    lc = inspections_done(demo_store, province="Lai Châu")
    assert round(100 * (lc["team"] == "joint").mean()) == 53
    assert set(lc["province"]) == {"Lai Châu"}
    # a correction replaces the record it corrects: CN 499 in 2025 counts once
    cn = inspections_done(demo_store, border="CN", start="2025-01-01", end="2025-12-31")
    assert "I-006119" not in set(cn["id"]) and "I-006125" in set(cn["id"])
    day = inspections_done(demo_store, start="2025-12-23", end="2025-12-23")
    assert (day["date"] == pd.Timestamp("2025-12-23")).all() and len(day) >= 1
