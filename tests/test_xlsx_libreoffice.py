"""The XLSX exports as LibreOffice shows them (many provincial offices use LibreOffice 7.x):
converted to PDF by LibreOffice headless, the first page read back with pdftotext. Headers and
dates must appear whole - LibreOffice cut "Ngày xảy ra" to "Ngày xảy r" before column widths
were set.

Needs soffice (libreoffice-calc-nogui) and pdftotext (poppler-utils), installed by
.ci/system-deps; skipped without them unless CI=true, where a missing part fails."""
import os
import shutil
import subprocess

import pandas as pd
import pytest
from click.testing import CliRunner

from bienmoc.cli.main import main


def _tools():
    soffice, pdftotext = shutil.which("soffice"), shutil.which("pdftotext")
    if soffice and pdftotext:
        return soffice, pdftotext
    missing = "soffice (LibreOffice)" if not soffice else "pdftotext (poppler-utils)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{missing} is needed (installed by .ci/system-deps)")
    pytest.skip(f"{missing} not installed")


def _first_pages(paths, tmp_path) -> dict[str, str]:
    """{file name: text of the first page} of each XLSX as LibreOffice renders it."""
    soffice, pdftotext = _tools()
    profile = tmp_path / "lo-profile"  # a private profile: no clash with a running office
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"),
                    *[str(p) for p in paths]], check=True, capture_output=True, timeout=240)
    out = {}
    for p in paths:
        pdf = tmp_path / "pdf" / (p.stem + ".pdf")
        assert pdf.exists(), f"LibreOffice did not convert {p.name}"
        text = subprocess.run([pdftotext, "-f", "1", "-l", "1", "-layout", str(pdf), "-"],
                              check=True, capture_output=True, text=True).stdout
        out[p.name] = text
    return out


def _run(store, *args):
    r = CliRunner().invoke(main, ["--store", str(store), *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def test_xlsx_headers_and_dates_are_whole_in_libreoffice(demo_store_path, tmp_path):
    from bienmoc.storage import GeoPackageStore

    inc = GeoPackageStore(demo_store_path).read("incidents")
    first = inc.iloc[0]
    assert pd.notna(first["occurred_date"])
    occurred = first["occurred_date"].strftime("%d/%m/%Y")
    incidents = tmp_path / "incidents.xlsx"
    _run(demo_store_path, "export", "incidents", "-o", str(incidents))   # vi by default
    incidents_en = tmp_path / "incidents_en.xlsx"
    _run(demo_store_path, "--lang", "en", "export", "incidents", "-o", str(incidents_en))
    due = tmp_path / "due.xlsx"
    _run(demo_store_path, "inspections", "due", "--as-of", "2025-06-30", "--format", "xlsx",
         "-o", str(due))
    pages = _first_pages([incidents, incidents_en, due], tmp_path)

    vi = pages["incidents.xlsx"]
    for header in ("Loại vụ việc", "Trạng thái", "Ngày xảy ra", "Ngày phát hiện", "Mô tả"):
        assert header in vi, header
    line = next(ln for ln in vi.splitlines() if first["id"] in ln)
    assert occurred in line                               # the date, whole, as dd/mm/yyyy
    assert first["province"] in line
    en = pages["incidents_en.xlsx"]
    assert "Occurred" in en and "Reported" in en and "Ngày xảy ra" not in en
    assert first["occurred_date"].strftime("%Y-%m-%d") in en   # a date cell, ISO in English
    assert occurred not in en

    d = pages["due.xlsx"]
    for header in ("Số hiệu mốc", "Loại mốc", "Tình trạng mốc", "Kiểm tra gần nhất",
                   "Hạn kiểm tra", "Chưa kiểm tra lần nào"):
        assert header in d, header
    assert "Loại công trình" not in d                     # a marker's kind is not a work's
    assert "True" not in d and "False" not in d and "NaN" not in d
