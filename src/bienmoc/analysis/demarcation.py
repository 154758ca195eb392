"""Demarcation figures: kilometres of each border (and province) demarcated or not.

Lengths come from the line index of a :class:`~bienmoc.geometry.locate.BorderModel` (metres in
its metric CRS, UTM 48N/49N by default), never from degrees. A section is a chainage interval
of ``line_sections``; a province's share of it is the part of the line the province owns (the
model's province runs, the same assignment as :func:`bienmoc.analysis.lengths.province_lengths`),
not the section's ``province`` attribute, so a section spanning two provinces is split.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from bienmoc.model.places import in_area
from bienmoc.geometry.locate import BorderModel
from bienmoc.geometry.sections import province_shares
from bienmoc.model.source import frames

__all__ = ["demarcation_summary", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = ["border", "province", "demarcated_km", "not_demarcated_km", "total_km"]


def demarcation_summary(source, *, province: str | None = None, border: str | None = None,
                        crs: object | None = None) -> pd.DataFrame:
    """Per border and province: km of line in demarcated sections, in not-demarcated
    sections, and the total length of the line there (``total_km``; the rest of the line has
    no recorded section). One row per (border, province) holding sections or filtered for;
    ``province``/``border`` filter (a province name compares case-insensitively).

    ``source`` is a store or a mapping of frames with 'boundary', 'provinces' and
    'line_sections'.
    """
    f = frames(source, ("boundary", "provinces", "line_sections"))
    if not len(f["boundary"]):
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    model = BorderModel(f["boundary"], None, f["provinces"], crs=crs)
    sections = f["line_sections"]
    km: dict[tuple[str, str | None], list[float]] = {}
    for b, s, a, z in zip(sections["border"], sections["status"], sections["from_m"],
                          sections["to_m"]):
        if b not in model.index.length_m or not (np.isfinite(a) and np.isfinite(z)):
            continue
        a, z = max(float(a), 0.0), min(float(z), model.index.length_m[b])
        shares = province_shares(model, b, a, z) or {None: max(z - a, 0.0)}
        for p, m in shares.items():
            row = km.setdefault((b, p), [0.0, 0.0])
            row[0 if s == "demarcated" else 1] += m / 1000.0
    totals = {}
    if model.province_runs:
        for r in model.province_lengths().itertuples():
            totals[(r.border, r.province)] = r.length_km
    else:
        totals = {(b, None): m / 1000.0 for b, m in model.index.length_m.items()}
    if province is not None or border is not None:  # filtered: every matching line part
        for key in totals:
            km.setdefault(key, [0.0, 0.0])
    rows = [(b, p, d, n, totals.get((b, p), np.nan)) for (b, p), (d, n) in km.items()]
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    out = in_area(out, border, province)
    return out.sort_values(["border", "province"], ignore_index=True)
