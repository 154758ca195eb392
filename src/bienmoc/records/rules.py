"""The domain rules every record must pass at entry, whatever door it came through.

Each rule is a small function ``rule(ctx) -> list[RuleProblem]`` over the validated records of
one layer (:class:`Context`: the records, their source row numbers, the thresholds, the border
geometry and the open transaction to read references from). A :class:`RuleProblem` is a
:class:`~bienmoc.errors.Problem` that names its rule; the rule names double as overrides
(``allow=("far",)``, ``bienmoc import ... --allow far``): an allowed problem does not block the
write but is stored on the record (``overrides``) and logged. Every message names the row, the
field and the measured value, in English; :mod:`bienmoc.messages` renders it in Vietnamese.

Rules (name: what it refuses)

* ``far``: a marker/stake farther from its own border line than its kind's tolerance (double/
  triple parts: ``part_tolerance_m``, the spacing QA allows); a gate farther than 2 km; an
  incident farther than the write distance (20 km).
* ``border``: a record whose border attribute names another line than the one it stands on.
* ``side``: a gate on the neighbour's side of the line.
* ``parts``: parts of a double/triple marker on one side of the line or farther apart than
  ``part_tolerance_m`` (QA's part checks, over the new parts and their registered siblings).
* ``province``: a province attribute that disagrees with the province polygon of the position.
* ``displacement``: an inspection's measured position too far from the registered marker.
* ``resurvey_far``: a resurvey moving a marker farther than ``resurvey_max_move_m``.
* ``future_date``: a date after today.
* ``date_order``: occurred after reported, an end before its start.
* ``before_existence``: an inspection before its marker was built, progress before its work
  started.
* ``overlap``: a line section overlapping another section of the same border (stored or in
  the same import). A section's ``from_m`` must lie before its ``to_m`` and both within its
  line (plus ``section_end_slack_m``): those are errors no override lifts. Its province must
  hold part of the line between them (rule ``province``).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bienmoc.errors import Problem
from bienmoc.model.frames import object_columns
from bienmoc.model.numbers import parse_number

__all__ = ["RuleSettings", "RuleProblem", "Context", "RULES", "RULE_NAMES", "run_rules",
           "format_m", "read_layer", "mark_updated", "layer_states"]


@dataclass(frozen=True)
class RuleSettings:
    """Every threshold of the entry rules (metres unless named otherwise)."""

    #: a single marker or stake may stand this far from its own border line, by kind
    marker_tolerance_m: Mapping[str, float] = field(default_factory=lambda: MappingProxyType(
        {"large": 50.0, "medium": 50.0, "small": 50.0, "stake": 50.0}))
    #: a part of a double/triple marker (on a river bank) may stand this far from the line
    #: (QA's ``max_part_spacing_m``: parts farther apart are an error there too)
    part_tolerance_m: float = 200.0
    #: a gate stands within this distance of the line, on the Vietnamese side
    gate_max_distance_m: float = 2000.0
    #: a gate may stand this far across the line (the line runs through some gate areas)
    gate_side_slack_m: float = 50.0
    #: an incident lies within this distance of its border line (the API's
    #: ``BIENMOC_WRITE_MAX_DISTANCE_M``)
    incident_max_distance_m: float = 20_000.0
    #: an inspection's measured position lies within this distance of the registered marker
    displacement_m: float = 100.0
    #: a resurvey moving a marker farther than this needs the ``resurvey_far`` override
    resurvey_max_move_m: float = 200.0
    #: a province attribute is accepted when its polygon lies this close to the position
    #: (where two provinces meet the line either name is right; QA's ``PROVINCE_SLACK_M``)
    province_agree_m: float = 200.0
    #: a line section may end this far beyond the computed end of its line (chainages measured
    #: in another metric CRS differ by its scale factor, ~0.04 %)
    section_end_slack_m: float = 50.0
    #: the day "future" is measured from (None: the local date today)
    today: _dt.date | None = None

    def day(self) -> pd.Timestamp:
        return pd.Timestamp(self.today or _dt.date.today())


@dataclass(frozen=True)
class RuleProblem(Problem):
    """A problem found by the rule ``rule`` (the name that overrides it)."""

    rule: str = ""


@dataclass
class Context:
    """What the rules see: the validated records of one layer and how to read the rest."""

    tx: object                      # the open transaction (read)
    kind: str
    data: gpd.GeoDataFrame
    rows: np.ndarray                # 1-based source row of each record
    settings: RuleSettings
    model: Callable[[], object | None]   # the BorderModel (boundary + provinces) or None
    _xy: np.ndarray | None = None
    mode: str = "append"            # 'replace': the stored records of the layer go away
    _columns: dict | None = None

    def column(self, name: str) -> np.ndarray:
        """The records' column ``name`` as an object array (all columns are read at the first
        call, in one conversion: the rules of a small API batch read a few columns each)."""
        if self._columns is None:
            self._columns = object_columns(self.data)
        return self._columns[name]

    def metric_xy(self) -> np.ndarray:
        """Metric coordinates of each record's position (NaN where it has none)."""
        if self._xy is None:
            model = self.model()
            g = np.asarray(self.data.geometry.values, dtype=object)
            has = ~(shapely.is_missing(g) | shapely.is_empty(g))
            xy = np.full((len(g), 2), np.nan)
            if model is not None and has.any():
                if (shapely.get_type_id(g[has]) == 0).all() and not shapely.has_z(g[has]).any():
                    # 2D points (every API incident): their coordinates transformed as they
                    # are, no GeoSeries (the data are validated, i.e. in EPSG:4326)
                    xy[has] = model.index.lonlat_to_metric(shapely.get_coordinates(g[has]))
                else:
                    xy[has] = model.index.to_metric_xy(self.data.geometry[has])
            self._xy = xy
        return self._xy


_FRAMES: dict = {}  # (store uri, layer) -> (layer state, frame)


def layer_states(tx, layers) -> dict | None:
    """A change token of each layer of ``layers`` as ``tx`` sees it (equal tokens: equal
    content), or None when the store cannot tell. A transaction with ``layer_tokens`` (PostGIS:
    one query for all, memoised in the transaction) answers it; otherwise the store's
    ``layer_state`` per layer (GeoPackage)."""
    tokens = getattr(tx, "layer_tokens", None)
    if tokens is not None:
        return tokens(layers)
    state = getattr(getattr(tx, "store", None), "layer_state", None)
    if state is None:
        return None
    return {n: state(n) for n in layers}


def buffered_layers(tx) -> set:
    """Layers ``tx`` holds changes of that the store's state tokens may not show yet."""
    buffered = set(getattr(tx, "_frames", {}) or {}) | set(getattr(tx, "_appended", {}) or {})
    return buffered | set(getattr(tx, "_bienmoc_updated", ()) or ())


def read_layer(tx, layer: str) -> gpd.GeoDataFrame:
    """``tx.read(layer)``, cached by the store's change token (:func:`layer_states`) while this
    transaction has not changed the layer (reference layers are read by every record;
    re-reading thousands of markers per API request would cost more than the rules). Callers
    must not modify it."""
    store = getattr(tx, "store", None)
    if layer in buffered_layers(tx):
        return tx.read(layer)
    states = layer_states(tx, (layer,))
    if states is None:
        return tx.read(layer)
    key, now = (getattr(store, "uri", id(store)), layer), states[layer]
    hit = _FRAMES.get(key)
    if hit is not None and now is not None and hit[0] == now:
        return hit[1]
    frame = tx.read(layer)
    if len(_FRAMES) > 32:
        _FRAMES.clear()
    _FRAMES[key] = (now, frame)
    return frame


def mark_updated(tx, layer: str) -> None:
    """Note that ``tx`` changed records of ``layer`` in place: a store's ``layer_state`` may
    not show an uncommitted in-place update, so later reads of the layer in the same
    transaction (the next write of a group commit) must bypass :func:`read_layer`'s cache."""
    try:
        updated = tx.__dict__.setdefault("_bienmoc_updated", set())
    except AttributeError:  # a transaction object without a __dict__: nothing cached for it
        return
    updated.add(layer)


def format_m(m: float) -> str:
    """A measured distance for messages: '37.5 m', '132.4 km'."""
    return f"{m:.1f} m" if m < 1000 else f"{m / 1000:.1f} km"


def _own_line(ctx: Context, sel: np.ndarray):
    """(distance to the record's own border line, side (+1 VN), nearest border, its distance)
    for the rows ``sel`` that have a position and a known border."""
    model = ctx.model()
    xy = ctx.metric_xy()
    n = len(ctx.data)
    dist, side = np.full(n, np.nan), np.zeros(n)
    near_b, near_d = np.full(n, None, dtype=object), np.full(n, np.nan)
    if model is None:
        return dist, side, near_b, near_d
    codes = ctx.column("border")
    ok = sel & np.isfinite(xy[:, 0])
    if ok.any():
        nearest = model.index.locate_xy(xy[ok, 0], xy[ok, 1])
        near_b[ok], near_d[ok] = nearest.border, nearest.distance_m
        # where the nearest line is the record's own, it is its own line's answer too
        mine = nearest.border == codes[ok]
        same = np.flatnonzero(ok)[mine]
        dist[same] = near_d[same]
        side[same] = nearest.side[mine]
        ok[same] = False
    for b in set(codes[ok]) & set(model.index.borders):
        s = ok & (codes == b)
        own = model.index.locate_on(b, xy[s, 0], xy[s, 1])
        dist[s], side[s] = own.distance_m, own.side
    return dist, side, near_b, near_d


def _problem(ctx: Context, i: int, field_: str, reason: str, rule: str) -> RuleProblem:
    return RuleProblem(int(ctx.rows[i]), field_, reason, rule)


# -- positions -------------------------------------------------------------------------------

def _distance_rule(ctx: Context, limits: np.ndarray, what: list[str]) -> list[RuleProblem]:
    """'far' / 'border' for rows whose distance to their own line exceeds ``limits``."""
    sel = np.isfinite(limits)
    dist, _, near_b, near_d = _own_line(ctx, sel)
    out = []
    for i in np.flatnonzero(sel & (dist > limits)):
        b = ctx.data["border"].iloc[i]
        if near_b[i] is not None and near_b[i] != b and near_d[i] <= limits[i]:
            out.append(_problem(ctx, i, "border", f"{what[i]} says border {b} but lies "
                                f"{format_m(near_d[i])} from the {near_b[i]} line and "
                                f"{format_m(dist[i])} from the {b} line", "border"))
        else:
            out.append(_problem(ctx, i, "geometry", f"{what[i]} lies {format_m(dist[i])} from "
                                f"the {b} border line; the limit is {format_m(limits[i])}",
                                "far"))
    return out


def marker_position(ctx: Context) -> list[RuleProblem]:
    """Markers and stakes stand on their own line (parts of double markers on its banks)."""
    s, d = ctx.settings, ctx.data
    parts = [parse_number(n).part if n else 0 for n in d["number"]]
    limits = np.array([s.part_tolerance_m if p or a in ("double", "triple")
                       else s.marker_tolerance_m.get(k, 50.0)
                       for p, a, k in zip(parts, d["arrangement"], d["kind"])], float)
    what = [f"marker {n}" for n in d["number"]]
    return _distance_rule(ctx, limits, what)


def marker_parts(ctx: Context) -> list[RuleProblem]:
    """Parts of a double/triple marker stand on opposite banks, close together: QA's
    ``parts_same_side`` and ``parts_too_far`` (:func:`bienmoc.analysis.qa.check_markers`)
    over the new parts and their registered siblings."""
    from bienmoc.analysis.qa import check_markers

    d, model = ctx.data, ctx.model()
    parsed = [parse_number(n) if n else None for n in d["number"]]
    new = np.array([p is not None and p.part > 0 for p in parsed])
    if model is None or not new.any() or d.geometry[new].isna().any():
        return []
    mine = {(b, p.position) for b, p, k in zip(d["border"], parsed, new) if k}
    stored = read_layer(ctx.tx, "markers")
    taken = set(zip(d["border"], d["number"]))
    sib = stored[[(b, parse_number(n).position) in mine and (b, n) not in taken
                  for b, n in zip(stored["border"], stored["number"])]]
    sub = gpd.GeoDataFrame(pd.concat([sib, d[new]], ignore_index=True), geometry="geometry",
                           crs="EPSG:4326")
    qa = check_markers({"markers": sub}, model=model,
                       max_part_spacing_m=ctx.settings.part_tolerance_m)
    row_of = {(b, n): i for i, (b, n) in enumerate(zip(d["border"], d["number"])) if new[i]}
    out = []
    for f in qa[qa["check"].isin(["parts_same_side", "parts_too_far"])].itertuples():
        names = [n.strip() for n in str(f.markers).split(",")]
        i = min(row_of[(f.border, n)] for n in names if (f.border, n) in row_of)
        out.append(_problem(ctx, i, "geometry", f.message_en, "parts"))
    return out


def gate_position(ctx: Context) -> list[RuleProblem]:
    """Gates stand within 2 km of their line, on the Vietnamese side."""
    s, d = ctx.settings, ctx.data
    limits = np.full(len(d), s.gate_max_distance_m)
    out = _distance_rule(ctx, limits, [f"gate {n}" for n in d["name"]])
    dist, side, _, _ = _own_line(ctx, np.ones(len(d), bool))
    for i in np.flatnonzero((side < 0) & (dist > s.gate_side_slack_m)):
        out.append(_problem(ctx, i, "geometry", f"gate {d['name'].iloc[i]} lies "
                            f"{format_m(dist[i])} on the {d['border'].iloc[i]} side of the "
                            "line; a gate stands on the Vietnamese side", "side"))
    return out


def incident_position(ctx: Context) -> list[RuleProblem]:
    """Incidents lie within the write distance of their line."""
    limits = np.full(len(ctx.data), ctx.settings.incident_max_distance_m)
    return _distance_rule(ctx, limits, ["the incident"] * len(ctx.data))


def province_agrees(ctx: Context) -> list[RuleProblem]:
    """A province attribute names the province polygon of the position (or one within
    ``province_agree_m``); positions outside every province are the distance rules' job."""
    model = ctx.model()
    if model is None or not model.provinces or "province" not in ctx.data:
        return []
    xy = ctx.metric_xy()
    given = ctx.column("province")
    sel = np.flatnonzero(np.isfinite(xy[:, 0]) & pd.notna(given))
    if not len(sel):
        return []
    ok = model.provinces.candidates(xy[sel, 0], xy[sel, 1], ctx.settings.province_agree_m)
    out = []
    for j, i in enumerate(sel):
        names = {str(p).casefold() for p in ok[j]}
        if names and str(given[i]).casefold() not in names:
            out.append(_problem(ctx, i, "province", f"province {given[i]} disagrees with the "
                                f"position, which lies in {' / '.join(sorted(ok[j]))}",
                                "province"))
    return out


def _moves(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose position and registered marker are both known, and the distance (m)
    between the two (one vectorised reprojection for all rows)."""
    m = read_layer(ctx.tx, "markers")
    reg = dict(zip(zip(m["border"], m["number"]), m.geometry))
    old = [reg.get((b, n)) for b, n in zip(ctx.data["border"], ctx.data["marker"])]
    new = list(ctx.data.geometry)
    rows = np.array([i for i, (o, g) in enumerate(zip(old, new)) if o is not None and
                     g is not None and not o.is_empty and not g.is_empty], dtype=int)
    if not len(rows):
        return rows, np.empty(0)
    model = ctx.model()
    a = gpd.GeoSeries([old[i] for i in rows], crs="EPSG:4326")
    crs = model.crs if model is not None else a.estimate_utm_crs()
    b = gpd.GeoSeries([new[i] for i in rows], crs="EPSG:4326")
    return rows, a.to_crs(crs).distance(b.to_crs(crs), align=False).to_numpy()


def inspection_position(ctx: Context) -> list[RuleProblem]:
    """A measured position lies within ``displacement_m`` of the registered marker: a marker
    displaced farther must be resurveyed (with a reason), not silently inspected."""
    rows, dist = _moves(ctx)
    limit = ctx.settings.displacement_m
    d = ctx.data
    return [_problem(ctx, i, "geometry", f"measured position lies {format_m(x)} from the "
                     f"registered position of marker {d['marker'].iloc[i]} "
                     f"({d['border'].iloc[i]}); the limit is {format_m(limit)}: record a "
                     "resurvey with a reason if it moved", "displacement")
            for i, x in zip(rows, dist) if x > limit]


def resurvey_move(ctx: Context) -> list[RuleProblem]:
    """A resurvey moving a marker farther than ``resurvey_max_move_m`` needs an override."""
    rows, dist = _moves(ctx)
    limit = ctx.settings.resurvey_max_move_m
    d = ctx.data
    return [_problem(ctx, i, "geometry", f"resurvey moves marker {d['marker'].iloc[i]} "
                     f"({d['border'].iloc[i]}) by {format_m(x)}; the limit is "
                     f"{format_m(limit)}", "resurvey_far")
            for i, x in zip(rows, dist) if x > limit]


# -- dates -----------------------------------------------------------------------------------

#: Dates that cannot lie in the future, per layer.
FACT_DATES = {"incidents": ("occurred_date", "reported_date"), "inspections": ("date",),
              "work_progress": ("date",), "resurveys": ("date",), "markers": ("built_date",),
              "gates": ("status_date",), "works": ("actual_start", "actual_end")}
#: (earlier, later) date fields of one record.
DATE_ORDER = {"incidents": [("occurred_date", "reported_date")],
              "works": [("actual_start", "actual_end"), ("planned_start", "planned_end")]}


def not_in_future(ctx: Context) -> list[RuleProblem]:
    today, out = ctx.settings.day(), []
    for f in FACT_DATES.get(ctx.kind, ()):
        for i, d in enumerate(ctx.column(f)):
            if pd.notna(d) and d > today:
                out.append(_problem(ctx, i, f, f"{d.date()} is in the future (today is "
                                    f"{today.date()})", "future_date"))
    return out


def dates_in_order(ctx: Context) -> list[RuleProblem]:
    out = []
    for a, b in DATE_ORDER.get(ctx.kind, ()):
        for i, (x, y) in enumerate(zip(ctx.column(a), ctx.column(b))):
            if pd.notna(x) and pd.notna(y) and x > y:
                out.append(_problem(ctx, i, a, f"{a.replace('_', ' ')} {x.date()} is after "
                                    f"{b.replace('_', ' ')} {y.date()}",
                                    "date_order"))
    return out


def after_existence(ctx: Context) -> list[RuleProblem]:
    """An inspection not before its marker was built; progress not before its work started."""
    out = []
    if ctx.kind == "inspections":
        m = read_layer(ctx.tx, "markers")
        built = dict(zip(zip(m["border"], m["number"]), m["built_date"]))
        for i, (b, n, d) in enumerate(zip(ctx.data["border"], ctx.data["marker"],
                                          ctx.data["date"])):
            since = built.get((b, n))
            if pd.notna(d) and since is not None and pd.notna(since) and d < since:
                out.append(_problem(ctx, i, "date", f"{d.date()} is before marker {n} was "
                                    f"built ({since.date()})", "before_existence"))
    if ctx.kind == "work_progress":
        w = read_layer(ctx.tx, "works")
        start = dict(zip(w["id"], w["actual_start"]))
        for i, (wid, d) in enumerate(zip(ctx.data["work_id"], ctx.data["date"])):
            since = start.get(wid)
            if pd.notna(d) and since is not None and pd.notna(since) and d < since:
                out.append(_problem(ctx, i, "date", f"{d.date()} is before work {wid} started "
                                    f"({since.date()})", "before_existence"))
    return out


# -- line sections (chainage intervals) -------------------------------------------------------

def _intervals(ctx: Context) -> np.ndarray:
    """Rows whose from_m and to_m are both given and in order."""
    f = ctx.data["from_m"].to_numpy(float)
    t = ctx.data["to_m"].to_numpy(float)
    return np.isfinite(f) & np.isfinite(t) & (f < t)


def section_chainage(ctx: Context) -> list[RuleProblem]:
    """from_m before to_m, and to_m within the length of the section's own line."""
    d, model, out = ctx.data, ctx.model(), []
    lengths = model.index.length_m if model is not None else {}
    slack = ctx.settings.section_end_slack_m
    for i, (b, f, t) in enumerate(zip(d["border"], d["from_m"], d["to_m"])):
        if pd.isna(f) or pd.isna(t):
            continue
        if f >= t:
            out.append(_problem(ctx, i, "to_m", f"to_m {t:.0f} m is not after from_m {f:.0f} m:"
                                " a section runs from the lower chainage to the higher", ""))
        elif b in lengths and t > lengths[b] + slack:
            out.append(_problem(ctx, i, "to_m", f"to_m {t:.0f} m lies beyond the end of the "
                                f"{b} line ({lengths[b]:.0f} m)", ""))
    return out


def section_overlap(ctx: Context) -> list[RuleProblem]:
    """Sections of one border do not overlap: neither a stored one (unless the import replaces
    the layer) nor another of the same import. Touching ends are fine."""
    d, out = ctx.data, []
    ok = _intervals(ctx)
    stored = read_layer(ctx.tx, "line_sections") if ctx.mode == "append" else None
    borders = d["border"].to_numpy(dtype=object)
    f, t = d["from_m"].to_numpy(float), d["to_m"].to_numpy(float)
    for b in set(borders[ok]):
        idx = np.flatnonzero(ok & (borders == b))
        if stored is not None and len(stored):
            s = stored[stored["border"] == b]
            sf, st, sid = s["from_m"].to_numpy(float), s["to_m"].to_numpy(float), list(s["id"])
            for i in idx:  # (few sections per border: a plain scan is enough)
                for j in np.flatnonzero((sf < t[i]) & (f[i] < st)):
                    out.append(_problem(ctx, i, "from_m", f"section {f[i]:.0f}–{t[i]:.0f} m of "
                                        f"the {b} line overlaps section {sid[j]} "
                                        f"({sf[j]:.0f}–{st[j]:.0f} m)", "overlap"))
        order = idx[np.argsort(f[idx], kind="stable")]
        for k, i in enumerate(order):  # sorted by start: compare with the earlier ones
            for j in order[:k]:
                if f[i] < t[j]:
                    out.append(_problem(ctx, i, "from_m", f"section {f[i]:.0f}–{t[i]:.0f} m of "
                                        f"the {b} line overlaps row {int(ctx.rows[j])} "
                                        f"({f[j]:.0f}–{t[j]:.0f} m)", "overlap"))
    return out


def section_province(ctx: Context) -> list[RuleProblem]:
    """A section's province holds part of its line between from_m and to_m (within
    ``province_agree_m`` of either end: province edges do not coincide with the line)."""
    from bienmoc.geometry.sections import province_shares

    model = ctx.model()
    if model is None or not model.province_runs:
        return []
    d, out, slack = ctx.data, [], ctx.settings.province_agree_m
    ok = _intervals(ctx)
    for i in np.flatnonzero(ok & d["province"].notna().to_numpy()):
        b, p = d["border"].iloc[i], str(d["province"].iloc[i])
        f, t = float(d["from_m"].iloc[i]), float(d["to_m"].iloc[i])
        shares = province_shares(model, b, f - slack, t + slack)
        if shares and p.casefold() not in {n.casefold() for n in shares}:
            out.append(_problem(ctx, i, "province", f"province {p} holds no part of the {b} "
                                f"line between {f:.0f} and {t:.0f} m, which lies in "
                                f"{' / '.join(sorted(shares))}", "province"))
    return out


# -- patrols -------------------------------------------------------------------------------------

def patrol_rules(ctx: Context) -> list[Problem]:
    """A joint patrol names the neighbour's unit (not overridable); a patrol ends after it
    starts (``date_order``) and does not start in the future (``future_date``)."""
    out: list[Problem] = []
    d = ctx.data
    now = pd.Timestamp(ctx.settings.today or _dt.date.today()).tz_localize(
        "Asia/Ho_Chi_Minh") + pd.Timedelta(days=1)
    for i, (kind, nb, a, b) in enumerate(zip(d["kind"], d["neighbour_unit"], d["start_time"],
                                             d["end_time"])):
        if kind == "joint" and not nb:
            out.append(Problem(int(ctx.rows[i]), "neighbour_unit", "a joint patrol needs the "
                               "neighbour's unit (neighbour_unit)"))
        if a is None or b is None:
            continue
        ta, tb = pd.Timestamp(a), pd.Timestamp(b)
        if tb < ta:
            out.append(_problem(ctx, i, "start_time", f"start_time {a} is after end_time {b}",
                                "date_order"))
        if ta >= now:
            out.append(_problem(ctx, i, "start_time", f"{a} is in the future", "future_date"))
    return out


#: The rules of each layer, in the order their problems are reported.
RULES: dict[str, tuple[Callable[[Context], list[RuleProblem]], ...]] = {
    "markers": (marker_position, marker_parts, province_agrees, not_in_future),
    "gates": (gate_position, province_agrees, not_in_future),
    "works": (province_agrees, not_in_future, dates_in_order),
    "incidents": (incident_position, province_agrees, not_in_future, dates_in_order),
    "inspections": (inspection_position, not_in_future, after_existence),
    "work_progress": (not_in_future, after_existence),
    "resurveys": (resurvey_move, not_in_future),
    "line_sections": (section_chainage, section_overlap, section_province),
    "patrols": (patrol_rules,),
}
#: Every rule name an override may give.
RULE_NAMES = ("far", "border", "side", "parts", "province", "displacement", "resurvey_far",
              "future_date", "date_order", "before_existence", "overlap")


def run_rules(ctx: Context) -> list[RuleProblem]:
    """Every problem the layer's rules find, ordered by row."""
    out = [p for rule in RULES.get(ctx.kind, ()) for p in rule(ctx)]
    return sorted(out, key=lambda p: (p.row or 0, p.field or ""))
