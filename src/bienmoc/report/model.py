"""The periodic report as data: what :func:`bienmoc.report.build_report` returns and every
writer (DOCX, PDF, HTML, Markdown) renders. Nothing here computes a figure; the builder fills
these from the analysis functions, and the writers only lay them out.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Report", "Section", "Table", "Image", "Placeholder"]


@dataclass
class Table:
    """A table with its caption; ``frame``'s column names are the (translated) headers."""

    caption: str
    frame: pd.DataFrame


@dataclass
class Image:
    """A picture (PNG bytes) with its caption, e.g. the province map or the monthly chart."""

    caption: str
    png: bytes
    width_mm: float = 160.0


@dataclass
class Placeholder:
    """What only people can write (meetings, diplomatic notes, next period's plans): shown
    clearly marked (``[…]`` highlighted) in every output so the officer fills it in."""

    text: str


#: A block of a section, in order: a paragraph (str), a table, an image or a placeholder.
Block = str | Table | Image | Placeholder


@dataclass
class Section:
    heading: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Report:
    """One report: the letterhead and the sections, in one language.

    ``figures`` holds every number quoted in the text under a stable key (e.g.
    ``"markers.built"``, ``"incidents.in_period"``) so tests compare them with the analysis
    functions' outputs and templates can place them.
    """

    lang: str                      # "vi" or "en"
    issuing_body: str              # e.g. "UBND TỈNH SƠN LA"
    number: str                    # e.g. "Số: …/BC-UBND"
    place: str                     # e.g. "Sơn La"
    issued: dt.date
    title: str                     # e.g. "BÁO CÁO"
    subtitle: str                  # e.g. "Công tác quản lý biên giới 6 tháng đầu năm 2026"
    period_start: dt.date
    period_end: dt.date
    scope: dict                    # {"province": ..., "border": ...}
    sections: list[Section] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)
    recipients: list[str] = field(default_factory=list)   # "Nơi nhận" lines
    signer: str = ""                                      # e.g. "GIÁM ĐỐC"

    def images(self) -> list[Image]:
        """Every image of the report, in order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Image)]

    def tables(self) -> list[Table]:
        """Every table of the report, in order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]
