"""Marker QA: are the markers where the register says, in order, complete and consistent?

:func:`check_markers` returns one row per finding with its severity (``error`` or ``warning``),
the check, the marker(s) it names, the measured value and a message in Vietnamese and English.

Checks
------
* ``duplicate`` (error): the same number twice on one border.
* ``out_of_order`` (error): positions whose number breaks the order along the line. The
  numbering direction is detected per border (VN–China runs against the line); the markers
  reported are those outside the longest run in order, i.e. the fewest that explain it.
* ``off_line`` (error): a single marker or stake farther from the line than its kind's
  tolerance (default 5 m for every kind; configurable per kind).
* ``parts_same_side`` (error) / ``parts_too_far`` (error) / ``parts_sides_swapped`` (warning):
  double/triple marker parts on one side, farther apart than ``max_part_spacing_m``
  (default 200 m), or with "(1)" on Vietnam's side (by convention it stands on the neighbour's).
* ``wrong_border`` / ``wrong_province`` (error): the attribute disagrees with the position.
* ``gap`` (warning): main numbers missing within a border's range (sections may be
  undemarcated, so this is not an error), and sub-numbers missing before a used one.
"""
from __future__ import annotations

import bisect
from typing import Mapping

import numpy as np
import pandas as pd

from bienmoc.fmt import fmt_number
from bienmoc.geometry.locate import NEIGHBOURS, BorderModel
from bienmoc.model.numbers import parse_number

__all__ = ["check_markers", "DEFAULT_TOLERANCE_M", "QA_COLUMNS"]

DEFAULT_TOLERANCE_M = {"large": 5.0, "medium": 5.0, "small": 5.0, "stake": 5.0}
#: Slack (m) of the province check where two provinces meet the border.
PROVINCE_SLACK_M = 200.0
QA_COLUMNS = ["severity", "check", "border", "markers", "value", "message_vi", "message_en"]


def _longest_increasing(keys: list) -> set[int]:
    """Indices of one longest strictly increasing subsequence (patience sorting, O(n log n))."""
    tails: list = []
    tails_idx: list[int] = []
    prev = [-1] * len(keys)
    for i, k in enumerate(keys):
        j = bisect.bisect_left(tails, k)
        if j == len(tails):
            tails.append(k)
            tails_idx.append(i)
        else:
            tails[j] = k
            tails_idx[j] = i
        prev[i] = tails_idx[j - 1] if j > 0 else -1
    out = set()
    i = tails_idx[-1] if tails_idx else -1
    while i >= 0:
        out.add(i)
        i = prev[i]
    return out


def check_markers(source, *, border: str | None = None,
                  tolerance_m: Mapping[str, float] | None = None,
                  max_part_spacing_m: float = 200.0, crs: object | None = None,
                  model: BorderModel | None = None) -> pd.DataFrame:
    """Run every QA check; ``source`` is a store or a mapping of frames (boundary, markers,
    provinces). Returns a DataFrame with :data:`QA_COLUMNS`, errors first."""
    from bienmoc.model.source import frames as _frames

    frames = _frames(source, ("boundary", "markers", "provinces"))
    markers = frames["markers"]
    if border is not None:
        markers = markers[markers["border"] == border]
    model = model or BorderModel(frames["boundary"], frames["markers"], frames.get("provinces"),
                                 crs=crs)
    tol = {**DEFAULT_TOLERANCE_M, **(tolerance_m or {})}
    found: list[tuple] = []

    def add(sev, check, b, names, value, vi, en):
        found.append((sev, check, b, names, value, vi, en))

    m = markers[markers.geometry.notna()].reset_index(drop=True)
    nearest = model.index.locate(m.geometry) if len(m) else None
    # distance, side and province measured on the marker's *own* border (at a tri-point the
    # other border may be as near); the nearest border only decides 'wrong_border'
    dist = np.full(len(m), np.inf)
    side = np.full(len(m), "", dtype=object)
    prov = np.full(len(m), None, dtype=object)
    if len(m):
        xy = model.index.to_metric_xy(m.geometry)
        codes = m["border"].to_numpy(dtype=object)
        for b in set(codes) & set(model.index.borders):
            sel = codes == b
            own = model.index.locate_on(b, xy[sel, 0], xy[sel, 1])
            dist[sel] = own.distance_m
            side[sel] = np.where(own.side > 0, "VN", np.where(own.side < 0, b, ""))
        # the province rule of the entry checks (bienmoc.records.rules.province_agrees): the
        # polygon holding the marker or any within PROVINCE_SLACK_M of it
        for i, names in enumerate(model.provinces.candidates(xy[:, 0], xy[:, 1],
                                                             PROVINCE_SLACK_M)):
            prov[i] = names
    m = m.assign(q_line_border=nearest.border if nearest is not None else [],
                 q_dist=dist, q_side=side, q_prov=prov)
    parsed = [parse_number(n) for n in m["number"]]
    m["q_pos"] = [p.position for p in parsed]
    m["q_main"] = [p.main for p in parsed]
    m["q_sub"] = [p.sub for p in parsed]
    m["q_part"] = [p.part for p in parsed]

    # duplicates
    dup = m[m.duplicated(["border", "number"], keep=False)]
    for (b, num), g in dup.groupby(["border", "number"]):
        add("error", "duplicate", b, num, len(g), f"mốc {num} trùng số hiệu ({len(g)} lần)",
            f"marker {num} is duplicated ({len(g)} times)")

    # border / province consistency, distance from the line
    for row in m.itertuples(index=False):
        if row.q_line_border != row.border and row.q_dist > tol.get(row.kind, 5.0):
            add("error", "wrong_border", row.border, row.number, row.q_line_border,
                f"mốc {row.number} ghi tuyến {row.border} nhưng nằm gần tuyến {row.q_line_border}",
                f"marker {row.number} says border {row.border} but lies on {row.q_line_border}")
            continue
        names = {str(p).casefold() for p in (row.q_prov or set()) if p}
        if row.province and names and str(row.province).casefold() not in names:
            where = " / ".join(sorted(str(p) for p in row.q_prov if p))
            add("error", "wrong_province", row.border, row.number, where,
                f"mốc {row.number} ghi tỉnh {row.province} nhưng nằm ở tỉnh {where}",
                f"marker {row.number} says {row.province} but lies in {where}")
        if row.q_part == 0 and row.q_dist > tol.get(row.kind, 5.0):
            add("error", "off_line", row.border, row.number, round(float(row.q_dist), 2),
                f"mốc {row.number} cách đường biên giới {fmt_number(row.q_dist, 'vi', 1)} m "
                f"(dung sai {fmt_number(tol.get(row.kind, 5.0), 'vi')} m)",
                f"marker {row.number} is {fmt_number(row.q_dist, 'en', 1)} m from the line "
                f"(tolerance {fmt_number(tol.get(row.kind, 5.0), 'en')} m)")

    # double / triple parts
    multi = m[m["q_part"] > 0]
    for (b, pos), g in multi.groupby(["border", "q_pos"]):
        sides = set(g["q_side"])
        names = ", ".join(g["number"])
        if len(g) > 1 and len(sides - {""}) == 1:
            add("error", "parts_same_side", b, names, next(iter(sides - {""})),
                f"các mốc {names} cùng một phía đường biên giới",
                f"marker parts {names} stand on the same side of the line")
        if len(g) > 1:
            xy = np.array([[p.x, p.y] for p in g.to_crs(model.crs).geometry])
            span = float(np.max(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))))
            if span > max_part_spacing_m:
                add("error", "parts_too_far", b, names, round(span, 1),
                    f"các mốc {names} cách nhau {fmt_number(span, 'vi', 0)} m (tối đa "
                    f"{fmt_number(max_part_spacing_m, 'vi')} m)",
                    f"marker parts {names} are {fmt_number(span, 'en', 0)} m apart "
                    f"(max {fmt_number(max_part_spacing_m, 'en')} m)")
        one = g[g["q_part"] == 1]
        if len(one) and one["q_side"].iloc[0] == "VN" and len(g) == 2:
            add("warning", "parts_sides_swapped", b, one["number"].iloc[0], "VN",
                f"mốc {one['number'].iloc[0]} nằm phía Việt Nam (quy ước: phía "
                f"{NEIGHBOURS.get(b, (b, b))[0]})",
                f"marker {one['number'].iloc[0]} stands on the Vietnamese side "
                f"(convention: the neighbour's)")

    # order along the line and gaps, per border
    for b, bm in model.markers.items():
        if border is not None and b != border:
            continue
        keys = [(parse_number(p).main, parse_number(p).sub) for p in bm.position]
        if bm.direction < 0:
            keys = keys[::-1]
            positions = list(bm.position[::-1])
            chain = bm.chainage[::-1]
        else:
            positions = list(bm.position)
            chain = bm.chainage
        keep = _longest_increasing(keys)
        for i, p in enumerate(positions):
            if i not in keep:
                add("error", "out_of_order", b, p, round(float(chain[i]), 1),
                    f"mốc {p} sai thứ tự dọc đường biên giới (lý trình "
                    f"{fmt_number(chain[i] / 1000, 'vi', 3)} km)",
                    f"marker {p} is out of order along the line (chainage "
                    f"{fmt_number(chain[i] / 1000, 'en', 3)} km)")
        mains = sorted({k[0] for k in keys})
        if mains:
            missing = sorted(set(range(mains[0], mains[-1] + 1)) - set(mains))
            for run in _runs(missing):
                names = str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}"
                add("warning", "gap", b, names, len(run),
                    f"thiếu số hiệu mốc {names} trên tuyến {b}",
                    f"marker number(s) {names} missing on border {b}")
        subs: dict[int, set[int]] = {}
        for k in keys:
            if k[1]:
                subs.setdefault(k[0], set()).add(k[1])
        for main_no, used in sorted(subs.items()):
            missing = sorted(set(range(1, max(used) + 1)) - used)
            if missing:
                names = ", ".join(f"{main_no}/{s}" for s in missing)
                add("warning", "gap", b, names, len(missing), f"thiếu cọc dấu/mốc phụ {names}",
                    f"stake/sub-marker number(s) {names} missing")

    out = pd.DataFrame(found, columns=QA_COLUMNS)
    out["_o"] = out["severity"].map({"error": 0, "warning": 1})
    return out.sort_values(["_o", "border", "check"], kind="stable").drop(columns="_o") \
        .reset_index(drop=True)


def _runs(values: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for v in values:
        if runs and v == runs[-1][-1] + 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    return runs
