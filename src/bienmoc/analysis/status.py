"""Marker status by group: the numbers periodic reports quote.

:func:`marker_status` returns one row per group (default: border and province) with counts of
marker *positions* by kind and construction status, reference stakes apart, conditions needing
action, gates by status and open incidents, plus the report sentence
("cột mốc: 125/125 đã xây dựng; cọc dấu: 12/12").

How markers are counted
-----------------------
* A **position** is a marker number without its part suffix: double marker 222(1)+222(2) is one
  position, triple 5(1)(2)(3) is one - the way the seeds count ("125/125 cột mốc"). A position
  is *built* only when all its parts are built, and belongs to the group of its first part.
* ``markers_*`` count positions of large/medium/small markers; ``stakes_*`` count reference
  stakes (kind ``stake``) - stakes are never counted as markers.
* ``markers_parts`` counts physical marker monuments (222 counts 2).
* Condition counts (``damaged``, ``displaced``, ``destroyed``, ``missing``, ``needs_action``)
  count physical monuments, markers and stakes alike: each part is its own monument. The
  condition is the *current* one: that of the latest inspection, else the registered one.
"""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from bienmoc.model.places import in_area
from bienmoc.errors import InvalidData
from bienmoc.model.numbers import parse_number
from bienmoc.model.schema import ConstructionStatus, GateStatus, IncidentStatus, MarkerKind

__all__ = ["marker_status", "status_sentence", "ACTION_CONDITIONS", "STATUS_COLUMNS"]

_SHARED_KEYS = ("border", "province")
ACTION_CONDITIONS = ("damaged", "displaced", "destroyed", "missing")
_OPEN_INCIDENT = tuple(s.value for s in IncidentStatus if s is not IncidentStatus.RESOLVED)

#: The stable columns of the result (group keys come first). Scripts may rely on these.
STATUS_COLUMNS = (
    ["markers_total", "markers_built", "markers_under_construction", "markers_planned",
     "markers_large", "markers_medium", "markers_small", "markers_parts",
     "stakes_total", "stakes_built"]
    + list(ACTION_CONDITIONS) + ["needs_action"]
    + [f"gates_{s.value}" for s in GateStatus] + ["gates_total", "incidents_open"]
    + ["summary_vi", "summary_en"]
)


def _frames(source) -> Mapping[str, pd.DataFrame]:
    """The layers status needs; markers carry their *current* condition (latest inspection)."""
    from bienmoc.analysis.inspections import apply_current_condition

    from bienmoc.model.source import frames

    source = frames(source, ("markers", "gates", "incidents", "inspections"))
    return {**source, "markers": apply_current_condition(source["markers"],
                                                         source.get("inspections"))}


def _filter(df: pd.DataFrame | None, border: str | None, province: str | None):
    if df is None:
        return None
    return in_area(df, border if "border" in df else None,
                   province if "province" in df else None)


def status_sentence(markers_built: int, markers_total: int, stakes_built: int,
                    stakes_total: int, lang: str = "vi") -> str:
    """The report sentence, e.g. 'cột mốc: 125/125 đã xây dựng; cọc dấu: 12/12' (numbers in
    the language's format: 1.707/1.707 in Vietnamese, 1,707/1,707 in English)."""
    from bienmoc.fmt import fmt_number

    mb, mt, sb, st = (fmt_number(int(v), lang) for v in (markers_built, markers_total,
                                                          stakes_built, stakes_total))
    if lang == "en":
        return f"markers: {mb}/{mt} built; reference stakes: {sb}/{st}"
    return f"cột mốc: {mb}/{mt} đã xây dựng; cọc dấu: {sb}/{st}"


def marker_status(source, *, by: Iterable[str] = ("border", "province"),
                  border: str | None = None, province: str | None = None) -> pd.DataFrame:
    """Marker, gate and incident status per group.

    Parameters
    ----------
    source : a store, or a mapping with 'markers' (and optionally 'gates', 'incidents') frames.
    by : marker fields to group by (default border and province); ``()`` gives one total row.
    border, province : keep only this border code / province name (case-insensitive).

    Returns
    -------
    DataFrame with the group keys then :data:`STATUS_COLUMNS`, sorted by the keys. Gate and
    incident counts are filled only when grouping by border and/or province (else 0).
    """
    by = list(by)
    frames = _frames(source)
    markers = _filter(frames["markers"], border, province)
    missing = [k for k in by if k not in markers.columns]
    if missing:
        raise InvalidData(f"cannot group by {', '.join(missing)}: not a marker field")
    m = pd.DataFrame(markers.drop(columns="geometry", errors="ignore")).copy()
    m["_position"] = [parse_number(n).position for n in m["number"]]
    m["_built"] = m["construction_status"] == ConstructionStatus.BUILT.value
    m["_stake"] = m["kind"] == MarkerKind.STAKE.value
    for k in by:
        m[k] = m[k].fillna("")

    # one row per position: group keys and kind of its first part, built if all parts built
    pos = (m.groupby(["border", "_position"], sort=False)
           .agg(**{k: (k, "first") for k in by if k not in ("border",)},
                _kind=("kind", "first"), _stake=("_stake", "first"),
                _built=("_built", "all"), _parts=("number", "size"),
                _status=("construction_status",
                         lambda s: "built" if (s == "built").all() else
                         ("under_construction" if (s != "planned").any() else "planned")))
           .reset_index())
    mk = pos[~pos["_stake"]]
    st = pos[pos["_stake"]]
    key = by or None

    def count(df: pd.DataFrame, mask=None) -> pd.Series | int:
        d = df if mask is None else df[mask]
        if key is None:
            return len(d)
        return d.groupby(key).size()

    parts = m[~m["_stake"]]
    cols: dict[str, object] = {
        "markers_total": count(mk),
        "markers_built": count(mk, mk["_status"] == "built"),
        "markers_under_construction": count(mk, mk["_status"] == "under_construction"),
        "markers_planned": count(mk, mk["_status"] == "planned"),
        "markers_large": count(mk, mk["_kind"] == "large"),
        "markers_medium": count(mk, mk["_kind"] == "medium"),
        "markers_small": count(mk, mk["_kind"] == "small"),
        "markers_parts": count(parts),
        "stakes_total": count(st),
        "stakes_built": count(st, st["_built"]),
    }
    for c in ACTION_CONDITIONS:
        cols[c] = count(m, m["condition"] == c)
    cols["needs_action"] = count(m, m["condition"].isin(ACTION_CONDITIONS))

    for layer, prefix in (("gates", "gates"), ("incidents", "incidents")):
        df = _filter(frames.get(layer), border, province)
        # only border/province mean the same thing in every layer ('kind' does not)
        usable = df is not None and all(k in _SHARED_KEYS and k in df.columns for k in by)
        if layer == "gates":
            for s in GateStatus:
                cols[f"gates_{s.value}"] = (count(_keys(df, by), df["status"] == s.value)
                                            if usable else 0)
            cols["gates_total"] = count(_keys(df, by)) if usable else 0
        else:
            cols["incidents_open"] = (count(_keys(df, by), df["status"].isin(_OPEN_INCIDENT))
                                      if usable else 0)

    if key is None:
        out = pd.DataFrame({c: [v] for c, v in cols.items()})
    else:
        out = pd.concat({c: v for c, v in cols.items() if isinstance(v, pd.Series)}, axis=1)
        for c, v in cols.items():
            if not isinstance(v, pd.Series):
                out[c] = v
        out = out.reindex(columns=list(cols)).fillna(0).astype("int64").reset_index()
        # groups that only have gates or incidents still appear, with zero markers
        out = out.sort_values(by, key=lambda s: s.str.casefold() if s.dtype == object else s,
                              ignore_index=True)
    for c in cols:
        out[c] = np.asarray(out[c], dtype="int64")
    out["summary_vi"] = [status_sentence(a, b, c, d, "vi") for a, b, c, d in zip(
        out["markers_built"], out["markers_total"], out["stakes_built"], out["stakes_total"])]
    out["summary_en"] = [status_sentence(a, b, c, d, "en") for a, b, c, d in zip(
        out["markers_built"], out["markers_total"], out["stakes_built"], out["stakes_total"])]
    return out[by + list(STATUS_COLUMNS)]


def _keys(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(df.drop(columns="geometry", errors="ignore")).copy()
    for k in by:
        df[k] = df[k].fillna("")
    return df
