"""PDF through LibreOffice: the DOCX converted by ``soffice --headless --convert-to pdf``, so
the PDF is exactly the official DOCX layout (no second layout engine to keep in step).

Each conversion uses a private LibreOffice profile (``-env:UserInstallation``) in a temporary
folder: concurrent conversions and a user's open LibreOffice never share a profile lock.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bienmoc.errors import BienmocError
from bienmoc.report.docx import write_docx
from bienmoc.report.model import Report

__all__ = ["write_pdf", "docx_to_pdf", "soffice_path", "NoLibreOffice"]

SOFFICE_ENV = "BIENMOC_SOFFICE"
TIMEOUT_S = 180


class NoLibreOffice(BienmocError):
    """PDF output needs LibreOffice (soffice), which is not installed."""


def soffice_path() -> str | None:
    """The soffice executable ($BIENMOC_SOFFICE, else soffice/libreoffice on PATH)."""
    env = os.environ.get(SOFFICE_ENV)
    if env:
        return env if Path(env).exists() else shutil.which(env)
    return shutil.which("soffice") or shutil.which("libreoffice")


def docx_to_pdf(docx, pdf, *, timeout: float = TIMEOUT_S) -> Path:
    """Convert ``docx`` to ``pdf`` with LibreOffice headless."""
    exe = soffice_path()
    if exe is None:
        raise NoLibreOffice(
            "PDF output needs LibreOffice: install it (Debian: apt install "
            "libreoffice-writer-nogui) or set BIENMOC_SOFFICE to soffice; DOCX, HTML and "
            "Markdown work without it")
    docx, pdf = Path(docx).resolve(), Path(pdf)
    with tempfile.TemporaryDirectory(prefix="bienmoc-soffice-") as tmp:
        profile = Path(tmp, "profile").as_uri()
        cmd = [exe, f"-env:UserInstallation={profile}", "--headless", "--norestore",
               "--convert-to", "pdf", "--outdir", tmp, str(docx)]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BienmocError(f"LibreOffice did not convert {docx.name} within {timeout:.0f} s")
        out = Path(tmp, docx.stem + ".pdf")
        if run.returncode != 0 or not out.exists():
            raise BienmocError(f"LibreOffice could not convert {docx.name}: "
                               f"{(run.stderr or run.stdout).strip()[:300]}")
        shutil.move(str(out), pdf)
    return pdf


def write_pdf(report: Report, path, *, template=None, timeout: float = TIMEOUT_S) -> Path:
    """The report as PDF: :func:`~bienmoc.report.docx.write_docx` then LibreOffice."""
    path = Path(path)
    if soffice_path() is None:
        docx_to_pdf(path, path)  # raises the clear "install LibreOffice" error
    with tempfile.TemporaryDirectory(prefix="bienmoc-report-") as tmp:
        docx = Path(tmp, path.stem + ".docx")
        write_docx(report, docx, template=template)
        return docx_to_pdf(docx, path, timeout=timeout)
