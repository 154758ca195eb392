"""Strip map of a border section: the line straightened along chainage, as engineers draw it.

``strip_svg(source, "LA", 0, 50)`` draws, left to right by chainage (km from the start of the
border's line in the :class:`~bienmoc.geometry.linear.LineIndex`):

* province bands (the :class:`~bienmoc.geometry.locate.BorderModel`'s province runs);
* a band of demarcation status from the ``line_sections`` layer (blank where no section is
  recorded);
* the axis with km ticks, markers on it coloured by status/condition (``maps/style.py``),
  labelled with their numbers (labels thinned when crowded: every marker is drawn, a label is
  written only when it does not overlap the previous one);
* rows for reference stakes, gates, works (extent from their ends, coloured by derived status
  as of ``as_of``), incidents (by status) and incident hotspot bins as a bar row.

Every feature is placed with :func:`bienmoc.geometry.locate` / the model's LineIndex, so the
diagram agrees with the locations reports give. The SVG is drawn here as text (no JS, no
plotting library): it is a handful of rectangles, circles and labels, and writing it directly
keeps every text escaped in one place (:func:`_e`) and the output byte-stable for tests.

PNG export: :func:`svg_to_png` uses CairoSVG (PyPI ``cairosvg``, pure Python over the system
libcairo that Debian ships) — a renderer in-process, far lighter and faster than launching
headless Chromium for each image.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bienmoc.errors import InvalidData
from bienmoc.fmt import fmt_date
from bienmoc.geometry.locate import BorderModel, locate
from bienmoc.maps.style import (BOUNDARY_COLOUR, CONDITION_COLOURS, GATE_COLOUR,
                                GATE_UPGRADING_RING,
                                INCIDENT_COLOURS, SECTION_COLOURS, STATUS_COLOURS, WORK_COLOURS,
                                marker_colour)
from bienmoc.maps.text import border_name
from bienmoc.model.source import frames

__all__ = ["strip_svg", "strip_map", "StripMap", "svg_to_png", "strip_features"]

WIDTH = 1400
LEFT, RIGHT = 150, 30
LABEL_GAP_PX = 13  # a marker label is written only this far right of the previous one

_TXT = {
    "vi": {"title": "Sơ đồ duỗi thẳng tuyến biên giới {b}, km {a} – km {z}",
           "province": "Tỉnh", "markers": "Cột mốc", "stakes": "Cọc dấu", "gates": "Cửa khẩu",
           "works": "Công trình", "incidents": "Vụ việc", "hotspots": "Vụ việc / {s} km",
           "demarcation": "Phân giới cắm mốc", "km": "km", "as_of": "tính đến ngày {d}", "none": "(không có)"},
    "en": {"title": "Strip map of the {b} border, km {a} – km {z}",
           "province": "Province", "markers": "Markers", "stakes": "Stakes", "gates": "Gates",
           "works": "Works", "incidents": "Incidents", "hotspots": "Incidents / {s} km",
           "demarcation": "Demarcation", "km": "km", "as_of": "as of {d}", "none": "(none)"},
}
_BAND_FILLS = ("#ffffcc", "#d9f0d3", "#e0ecf4", "#fde0dd", "#f2f0f7")


def _e(text) -> str:
    """Escape any text for SVG/XML content and attributes."""
    return escape("" if text is None else str(text), quote=True)


def _fmt_km(v: float) -> str:
    return f"{v:g}"


def strip_features(source, border: str, from_km: float, to_km: float, *, as_of=None) -> dict:
    """Everything the strip map draws, located on ``border`` between the two chainages (km):
    {'markers', 'stakes', 'gates', 'works', 'incidents'} frames with ``chainage_m`` (works also
    ``start_m``/``end_m``), 'provinces' [(start_m, end_m, name)], 'sections' [(start_m, end_m,
    status, id)] of the line_sections layer, and the model."""
    if not (np.isfinite(from_km) and np.isfinite(to_km)) or to_km <= from_km or from_km < 0:
        raise InvalidData(f"need 0 <= from_km < to_km, got from_km={from_km}, to_km={to_km}")
    f = frames(source, ("boundary", "markers", "provinces", "gates", "works", "incidents",
                        "line_sections"))
    model = BorderModel(f["boundary"], f["markers"], f["provinces"])
    if border not in model.index.borders:
        raise InvalidData(f"border={border!r}: no boundary line of that border "
                          f"(known: {', '.join(sorted(model.index.borders))})")
    length = model.index.length_m[border]
    lo, hi = from_km * 1000.0, min(to_km * 1000.0, length)
    if lo >= hi:
        raise InvalidData(f"from_km={from_km:g} is beyond the end of the {border} line "
                          f"({length / 1000:.3f} km long)")

    def on_line(df: gpd.GeoDataFrame) -> pd.DataFrame:
        df = df[df.geometry.notna() & (df["border"] == border)]
        if not len(df):
            return pd.DataFrame(columns=[*df.columns, "chainage_m"])
        if df.crs is None:
            df = df.set_crs("EPSG:4326")
        xy = model.index.to_metric_xy(df.geometry)
        out = pd.DataFrame(df.drop(columns="geometry"))
        out["chainage_m"] = model.index.locate_on(border, xy[:, 0], xy[:, 1]).chainage_m
        return out

    m = on_line(f["markers"])
    m = m[(m["chainage_m"] >= lo) & (m["chainage_m"] <= hi)].sort_values("chainage_m",
                                                                           kind="stable")
    stake = m["kind"] == "stake"
    out = {"model": model, "lo": lo, "hi": hi, "markers": m[~stake], "stakes": m[stake]}
    g = on_line(f["gates"])
    out["gates"] = g[(g["chainage_m"] >= lo) & (g["chainage_m"] <= hi)]
    inc = f["incidents"]
    if len(inc):  # incidents may sit off the line: the border they are nearest to counts
        inc = locate(inc[inc.geometry.notna()], model)
        inc = pd.DataFrame(inc.drop(columns="geometry"))
        inc = inc[inc["border"] == border]
    else:
        inc = pd.DataFrame(columns=["id", "status", "chainage_m"])
    out["incidents"] = inc[(inc["chainage_m"] >= lo) & (inc["chainage_m"] <= hi)]
    out["works"] = _works(source, f["works"], model, border, lo, hi, as_of)
    starts, names = model.province_runs.get(border, (np.array([0.0]), np.array([None])))
    ends = np.concatenate([starts[1:], [model.index.length_m[border]]])
    out["provinces"] = [(max(s, lo), min(e, hi), n) for s, e, n in zip(starts, ends, names)
                        if e > lo and s < hi]
    sec = f["line_sections"]
    sec = sec[sec["border"] == border] if len(sec) else sec
    out["sections"] = sorted((max(float(a), lo), min(float(z), hi), st, i) for a, z, st, i in
                             zip(sec["from_m"], sec["to_m"], sec["status"], sec["id"])
                             if z > lo and a < hi)
    return out


def _works(source, works, model, border, lo, hi, as_of) -> pd.DataFrame:
    w = works[works.geometry.notna() & (works["border"] == border)] if len(works) else works
    cols = ["id", "title", "status", "start_m", "end_m"]
    if not len(w):
        return pd.DataFrame(columns=cols)
    if w.crs is None:
        w = w.set_crs("EPSG:4326")
    from bienmoc.analysis.progress import work_status

    status = work_status(source, as_of=as_of).set_index("id")["status"]
    # a work's extent along the line: the chainage of every vertex, min to max
    coords, idx = shapely.get_coordinates(w.geometry.to_crs(model.crs).values,
                                          return_index=True)
    ch = model.index.locate_on(border, coords[:, 0], coords[:, 1]).chainage_m
    ext = pd.DataFrame({"i": idx, "c": ch}).groupby("i")["c"].agg(["min", "max"])
    out = pd.DataFrame({"id": w["id"].to_numpy(), "title": w["title"].to_numpy(),
                        "status": w["id"].map(status).to_numpy(),
                        "start_m": ext["min"].reindex(range(len(w))).to_numpy(),
                        "end_m": ext["max"].reindex(range(len(w))).to_numpy()})
    return out[(out["end_m"] >= lo) & (out["start_m"] <= hi)].reset_index(drop=True)


def strip_svg(source, border: str, from_km: float, to_km: float, *, as_of=None,
              lang: str = "vi", dem=None) -> str:
    """The strip map of ``border`` between ``from_km`` and ``to_km`` as an SVG document;
    with a ``dem`` (a Dem or a path) a terrain profile band at the bottom."""
    if lang not in _TXT:
        raise InvalidData(f"lang must be 'vi' or 'en', not {lang!r}")
    d = strip_features(source, border, float(from_km), float(to_km), as_of=as_of)
    T = _TXT[lang]
    lo, hi = d["lo"], d["hi"]
    span = max(hi - lo, 1.0)
    inner = WIDTH - LEFT - RIGHT

    def x(ch) -> np.ndarray:
        return LEFT + (np.asarray(ch, float) - lo) / span * inner

    rows = {"province": 50, "demarcation": 88, "labels": 150, "axis": 165, "stakes": 205, "gates": 240,
            "works": 280, "incidents": 325, "hotspots": 400}
    gates = d["gates"]
    combos = (set(zip(gates["kind"], gates["status"])) if len(gates) and
              {"kind", "status"} <= set(gates.columns) else set())
    legend_svg, legend_rows = _legend(lang, gates=combos)
    band = 110 if dem is not None else 0   # the terrain profile band (bienmoc.terrain.plot)
    height = 490 + band + LEGEND_ROW_PX * (legend_rows - 1)   # the legend wraps within WIDTH
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
         f'viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Arial, sans-serif" '
         f'font-size="11" data-border="{_e(border)}" data-from-km="{_fmt_km(lo / 1000)}" '
         f'data-to-km="{_fmt_km(hi / 1000)}">',
         f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>']
    title = T["title"].format(b=border_name(border, lang), a=_fmt_km(lo / 1000),
                              z=_fmt_km(hi / 1000))
    if as_of is not None:
        title += " – " + T["as_of"].format(d=fmt_date(pd.Timestamp(as_of), lang))
    o.append(f'<text x="10" y="20" font-size="15" font-weight="bold">{_e(title)}</text>')
    for key, y in rows.items():
        if key not in ("labels", "axis"):
            lab = T[key].format(s=f"{_bin_km(span / 1000):g}") if key == "hotspots" else T[key]
            o.append(f'<text x="10" y="{y + 4}" fill="#333">{_e(lab)}</text>')
    o.append(f'<text x="10" y="{rows["axis"] + 4}" fill="#333">{_e(T["markers"])}</text>')
    # province bands
    for i, (s, e, name) in enumerate(d["provinces"]):
        x0, x1 = x(s), x(e)
        o.append(f'<g class="province" data-name="{_e(name)}"><rect x="{x0:.1f}" '
                 f'y="{rows["province"] - 14}" width="{max(x1 - x0, 0.5):.1f}" height="26" '
                 f'fill="{_BAND_FILLS[i % len(_BAND_FILLS)]}" stroke="#666"/>'
                 f'<text x="{x0 + 4:.1f}" y="{rows["province"] + 4}">{_e(name or "?")}</text></g>')
    # demarcation status band (the line_sections layer)
    for s, e, status, sid in d["sections"]:
        x0, x1 = x(s), x(e)
        o.append(f'<g class="section" data-id="{_e(sid)}" data-status="{_e(status)}" '
                 f'data-from-m="{s:.1f}" data-to-m="{e:.1f}"><rect x="{x0:.1f}" '
                 f'y="{rows["demarcation"] - 7}" width="{max(x1 - x0, 0.5):.1f}" height="14" '
                 f'fill="{SECTION_COLOURS.get(status, "#9e9e9e")}" stroke="#333" '
                 f'stroke-width="0.5"><title>{_e(sid)}: {_e(_status_label(status, lang))}'
                 f'</title></rect>{_band_label(x0, x1, rows["demarcation"], status, lang)}</g>')
    # axis and km ticks
    ya = rows["axis"]
    o.append(f'<line x1="{LEFT}" y1="{ya}" x2="{WIDTH - RIGHT}" y2="{ya}" '
             f'stroke="{BOUNDARY_COLOUR}" stroke-width="3"/>')
    step = _tick_step(span / 1000)
    for k in np.arange(np.ceil(lo / 1000 / step) * step, hi / 1000 + 1e-9, step):
        xt = x(k * 1000)
        o.append(f'<line x1="{xt:.1f}" y1="{ya + 6}" x2="{xt:.1f}" y2="{ya + 12}" stroke="#000"/>'
                 f'<text x="{xt:.1f}" y="{ya + 24}" text-anchor="middle" font-size="9" '
                 f'fill="#555">{_fmt_km(round(k, 3))}</text>')
    # markers: every one drawn, labels thinned
    last = -1e9
    for r in d["markers"].itertuples():
        xm = float(x(r.chainage_m))
        col = marker_colour(r.construction_status, r.condition)
        label = ""
        if xm - last >= LABEL_GAP_PX:
            last = xm
            label = (f'<text x="{xm:.1f}" y="{rows["labels"]}" font-size="9" '
                     f'transform="rotate(-60 {xm:.1f} {rows["labels"]})">{_e(r.number)}</text>')
        o.append(f'<g class="marker" data-number="{_e(r.number)}" '
                 f'data-chainage-m="{r.chainage_m:.1f}"><circle cx="{xm:.1f}" cy="{ya}" r="4" '
                 f'fill="{col}" stroke="#000" stroke-width="0.5"><title>{_e(r.number)}</title>'
                 f'</circle>{label}</g>')
    for r in d["stakes"].itertuples():
        xs = float(x(r.chainage_m))
        y = rows["stakes"]
        o.append(f'<g class="stake" data-number="{_e(r.number)}"><path d="M{xs:.1f} {y - 5} '
                 f'L{xs + 4:.1f} {y + 4} L{xs - 4:.1f} {y + 4} Z" '
                 f'fill="{marker_colour(r.construction_status, r.condition)}" stroke="#000" '
                 f'stroke-width="0.5"><title>{_e(r.number)}</title></path></g>')
    for r in d["gates"].itertuples():
        xg = float(x(r.chainage_m))
        y = rows["gates"]
        kind, status = getattr(r, "kind", None), getattr(r, "status", None)
        o.append(f'<g class="gate" data-kind="{_e(kind)}" data-status="{_e(status)}">'
                 f'{gate_svg(kind, status, xg, y, _e(r.name))}<text x="{xg + 9:.1f}" '
                 f'y="{y + 4}" font-size="9">{_e(r.name)}</text></g>')
    for r in d["works"].itertuples():
        x0 = float(x(max(r.start_m, lo)))
        x1 = float(x(min(r.end_m, hi)))
        y = rows["works"]
        col = WORK_COLOURS.get(r.status, "#9e9e9e")
        o.append(f'<g class="work" data-id="{_e(r.id)}" data-status="{_e(r.status)}" '
                 f'data-start-m="{r.start_m:.1f}" data-end-m="{r.end_m:.1f}">'
                 f'<rect x="{x0 - 2:.1f}" '
                 f'y="{y - 6}" width="{max(x1 - x0, 0) + 4:.1f}" height="12" fill="{col}" '
                 f'stroke="#000" stroke-width="0.5"><title>{_e(r.id)} {_e(r.title)} '
                 f'({_e(r.status)})</title></rect></g>')
    for r in d["incidents"].itertuples():
        xi = float(x(r.chainage_m))
        o.append(f'<g class="incident"><circle cx="{xi:.1f}" cy="{rows["incidents"]}" r="3.5" '
                 f'fill="{INCIDENT_COLOURS.get(r.status, "#e31a1c")}" fill-opacity="0.8">'
                 f'<title>{_e(r.id)}</title></circle></g>')
    # hotspot bins: incidents per 1 km or coarser (a histogram: plain counting, no library needed)
    if len(d["incidents"]):
        bin_m = 1000.0 * _bin_km(span / 1000)
        edges = np.arange(np.floor(lo / bin_m), np.ceil(hi / bin_m) + 1) * bin_m
        counts, _ = np.histogram(d["incidents"]["chainage_m"].astype(float), bins=edges)
        top = max(int(counts.max()), 1)
        yb = rows["hotspots"] + 30
        for s, e, c in zip(edges[:-1], edges[1:], counts):
            if c:
                h = 55 * c / top
                x0, x1 = float(x(max(s, lo))), float(x(min(e, hi)))
                o.append(f'<g class="hotspot" data-count="{int(c)}"><rect x="{x0:.1f}" '
                         f'y="{yb - h:.1f}" width="{max(x1 - x0 - 0.5, 0.5):.1f}" '
                         f'height="{h:.1f}" fill="#fb6a4a"><title>km {_fmt_km(s / 1000)}: '
                         f'{int(c)}</title></rect></g>')
    for key, frame in (("stakes", d["stakes"]), ("gates", d["gates"]), ("works", d["works"]),
                       ("incidents", d["incidents"]), ("demarcation", d["sections"])):
        if not len(frame):
            o.append(f'<text x="{LEFT}" y="{rows[key] + 4}" fill="#999">{_e(T["none"])}</text>')
    if dem is not None:   # terrain profile band (bienmoc.terrain.plot)
        from bienmoc.terrain.plot import profile_band_svg

        o += profile_band_svg(d["model"], border, lo, hi, dem, x, 480, 80, lang)
    o.append(f'<g transform="translate(0 {468 + band})">{legend_svg}</g>')
    o.append("</svg>")
    return "\n".join(o)


def _status_label(status: str, lang: str) -> str:
    from bienmoc.model.schema import label

    return label(status, lang)


def _band_label(x0: float, x1: float, y: int, status: str, lang: str) -> str:
    """The status written inside its band when it fits (the band is its own legend)."""
    text = _status_label(status, lang)
    if x1 - x0 < 6.2 * len(text) + 8:
        return ""
    return (f'<text x="{(x0 + x1) / 2:.1f}" y="{y + 4}" text-anchor="middle" font-size="10" '
            f'fill="#000">{_e(text)}</text>')


LEGEND_ROW_PX = 16
_CHAR_PX = 6.4   # generous width of a 10 px DejaVu Sans/Arial character (Vietnamese too)


#: Gate symbols as on the web maps (maps.css, :data:`bienmoc.maps.style.GATE_SHAPES`): the
#: shape says the kind, the fill and outline the status. Half sizes in px.
_GATE_HALF = {"international": 7, "main": 6, "auxiliary": 6, "opening": 4, "border_market": 4}
_GATE_ROUND = {"auxiliary", "opening"}


def gate_svg(kind, status, x: float, y: float, title: str = "") -> str:
    """One gate's symbol centred on (x, y): square (international, border market), diamond
    (main), circle (auxiliary, opening); solid (open), white with a dashed (planned) or dotted
    (closed) outline, half filled (suspended), solid with a gold ring (upgrading)."""
    h = _GATE_HALF.get(kind, 5)
    ink = GATE_COLOUR
    fill, dash, ring = ink, "", ""
    if status == "planned":
        fill, dash = "#ffffff", ' stroke-dasharray="3 2"'
    elif status == "closed":
        fill, dash = "#ffffff", ' stroke-dasharray="1 2"'
    elif status == "upgrading":
        ring = f' stroke="{GATE_UPGRADING_RING}" stroke-width="2"'
    look = f'stroke="{ink}" stroke-width="1.5"{dash}' if not ring else ring[1:]
    tip = f"<title>{title}</title>" if title else ""
    if kind in _GATE_ROUND:
        shape = f'<circle cx="{x:.1f}" cy="{y}" r="{h}" fill="{fill}" {look}>{tip}</circle>'
        half = (f'<path d="M{x - h:.1f} {y} A{h} {h} 0 0 1 {x + h:.1f} {y} Z" fill="#ffffff"/>'
                if status == "suspended" else "")
    elif kind == "main":
        pts = f"{x:.1f},{y - h} {x + h:.1f},{y} {x:.1f},{y + h} {x - h:.1f},{y}"
        shape = f'<polygon points="{pts}" fill="{fill}" {look}>{tip}</polygon>'
        half = (f'<polygon points="{x:.1f},{y - h} {x + h:.1f},{y} {x - h:.1f},{y}" '
                f'fill="#ffffff"/>' if status == "suspended" else "")
    else:
        shape = (f'<rect x="{x - h:.1f}" y="{y - h}" width="{2 * h}" height="{2 * h}" '
                 f'fill="{fill}" {look}>{tip}</rect>')
        half = (f'<polygon points="{x - h:.1f},{y - h} {x + h:.1f},{y - h} {x - h:.1f},{y + h}" '
                f'fill="#ffffff"/>' if status == "suspended" else "")
    return shape + half


def _legend(lang: str, y: int = 0, gates: set = frozenset()) -> tuple[str, int]:
    """Swatches of marker status and condition, work status, incident status and the gate
    kind x status pairs drawn (``gates``), wrapped into rows that fit WIDTH (one long line
    overflowed the page at 1280 px). Returns the SVG group and the number of rows."""
    from bienmoc.analysis.progress import WorkStatus
    from bienmoc.model.schema import (Condition, ConstructionStatus, GateKind, GateStatus,
                                      IncidentStatus, label)

    items = [(c, label(ConstructionStatus(k), lang), "circle") for k, c in STATUS_COLOURS.items()]
    items += [(c, label(Condition(k), lang), "circle") for k, c in CONDITION_COLOURS.items()]
    items += [(c, label(WorkStatus(k), lang), "rect") for k, c in WORK_COLOURS.items()]
    items += [(c, label(IncidentStatus(k), lang), "dot") for k, c in INCIDENT_COLOURS.items()]
    items += [((k.value, s.value), f"{label(k, lang)} – {label(s, lang)}", "gate")
              for k in GateKind for s in GateStatus if (k.value, s.value) in gates]
    out, x, row = ['<g class="legend" font-size="10">'], 10.0, 0
    for colour, text, shape in items:
        w = 24 + _CHAR_PX * len(text)
        if x + w > WIDTH - 10 and x > 10:
            x, row, y = 10.0, row + 1, y + LEGEND_ROW_PX
        if shape == "gate":
            out.append(gate_svg(*colour, x + 5, y))
        elif shape == "rect":
            out.append(f'<rect x="{x:.0f}" y="{y - 5}" width="12" height="10" fill="{colour}"/>')
        else:
            r = 4 if shape == "circle" else 3
            out.append(f'<circle cx="{x + 5:.0f}" cy="{y}" r="{r}" fill="{colour}"/>')
        out.append(f'<text x="{x + 15:.0f}" y="{y + 4}">{_e(text)}</text>')
        x += w
    out.append("</g>")
    return "".join(out), row + 1


def _bin_km(span_km: float) -> float:
    """Hotspot bin: 1 km, or coarser so that a long section has at most ~200 bins."""
    for s in (1, 2, 5, 10, 20, 50, 100):
        if span_km / s <= 200:
            return s
    return 200


def _tick_step(span_km: float) -> float:
    for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500):
        if span_km / s <= 25:
            return s
    return 1000


def svg_to_png(svg: str, scale: float = 1.0) -> bytes:
    """PNG bytes of an SVG (CairoSVG over libcairo)."""
    import cairosvg

    return cairosvg.svg2png(bytestring=svg.encode("utf-8"), scale=scale)


@dataclass
class StripMap:
    """A strip map for notebooks: Jupyter shows it (``_repr_svg_``); save as .svg or .png."""

    svg: str

    def _repr_svg_(self) -> str:
        return self.svg

    def to_png(self, scale: float = 1.0) -> bytes:
        return svg_to_png(self.svg, scale)

    def save(self, path) -> None:
        path = str(path)
        if path.lower().endswith(".png"):
            with open(path, "wb") as fh:
                fh.write(self.to_png())
        else:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(self.svg)


def strip_map(source, border: str, from_km: float, to_km: float, *, as_of=None,
              lang: str = "vi", dem=None) -> StripMap:
    """:func:`strip_svg` wrapped in a :class:`StripMap` (Jupyter display, PNG/SVG export)."""
    return StripMap(strip_svg(source, border, from_km, to_km, as_of=as_of, lang=lang,
                              dem=dem))
