"""Patrol coverage on the map: marker sections covered / partly covered / not covered / overdue.

:func:`coverage_geojson` draws each section of a :class:`~bienmoc.analysis.coverage.Coverage`
as the stretch of the border line between its two chainages (the line's own vertices, not a
straight chord); :func:`coverage_layer` makes it a folium overlay, and :func:`add_coverage` puts
it on a map (``progress_map(..., coverage=cov)`` does so).
"""
from __future__ import annotations

from html import escape

import numpy as np
from pyproj import Transformer

from bienmoc.model.labels import catalogue

__all__ = ["coverage_geojson", "coverage_layer", "add_coverage", "COVERAGE_COLOURS"]

#: state -> (colour, dash); overdue sections keep their coverage colour under an orange dash
COVERAGE_COLOURS = {"covered": "#1a9850", "partial": "#a6d96a", "none": "#bdbdbd",
                    "overdue": "#f46d43"}
_TEXT = {
    "layer": ("Tuần tra: mức độ bao phủ", "Patrols: coverage"),
    "covered": ("đã tuần tra hết đoạn", "section fully patrolled"),
    "partial": ("tuần tra một phần", "partly patrolled"),
    "none": ("chưa tuần tra", "not patrolled"),
    "overdue": ("quá hạn tuần tra", "patrol overdue"),
    "section": ("Đoạn mốc", "Marker section"),
    "share": ("Tỷ lệ đã tuần tra", "Share patrolled"),
    "last": ("Lần tuần tra gần nhất", "Last visit"),
    "never": ("chưa có", "never"),
}


_t = catalogue(_TEXT)


def _state(share: float) -> str:
    return "covered" if share >= 0.999 else "partial" if share > 0 else "none"


def coverage_geojson(cov, model, *, lang: str = "vi") -> dict:
    """A GeoJSON FeatureCollection (EPSG:4326) of the coverage's sections, with ``state``,
    ``overdue``, ``covered_share``, ``last_visit`` and a ``label`` in ``lang``."""
    ix = model.index
    k = ix._border_id(cov.border)
    segs = np.flatnonzero((ix.bid == k) & ~ix.gap)
    vertex_ch = ix.cum0[segs]
    back = Transformer.from_crs(ix.crs, "EPSG:4326", always_xy=True)
    feats = []
    s = cov.sections
    overdue = s["overdue"] if "overdue" in s else [False] * len(s)
    names = (list(zip(s["marker_from"], s["marker_to"])) if "marker_from" in s
             else [(f"km {int(v) - 1}", f"km {int(v)}") for v in s["km"]])
    for (a, b), start, end, share, last, late in zip(names, s["start_m"], s["end_m"],
                                                     s["covered_share"], s["last_visit"],
                                                     overdue):
        inner = vertex_ch[(vertex_ch > start) & (vertex_ch < end)]
        xy = ix.point_at(cov.border, np.concatenate([[start], inner, [end]]))
        lon, lat = back.transform(xy[:, 0], xy[:, 1])
        share = 0.0 if share != share else float(share)
        state = _state(share)
        label = (f"{_t('section', lang)} {a} – {b}: {_t('share', lang).lower()} "
                 f"{share * 100:.0f}%; {_t('last', lang).lower()} "
                 f"{last.strftime('%d/%m/%Y') if last is not None else _t('never', lang)}")
        feats.append({"type": "Feature",
                      "geometry": {"type": "LineString",
                                   "coordinates": np.round(np.column_stack([lon, lat]),
                                                           6).tolist()},
                      "properties": {"marker_from": a, "marker_to": b, "state": state,
                                     "overdue": bool(late), "covered_share": round(share, 4),
                                     "last_visit": None if last is None else str(last),
                                     "label": label}})
    return {"type": "FeatureCollection", "features": feats}


def coverage_layer(cov, model, *, lang: str = "vi", show: bool = True):
    """A folium FeatureGroup of the coverage sections (colour by state, overdue dashed)."""
    import folium

    gj = coverage_geojson(cov, model, lang=lang)

    def style(f):
        p = f["properties"]
        st = {"color": COVERAGE_COLOURS[p["state"]], "weight": 6, "opacity": 0.9}
        if p["overdue"]:
            st.update(color=COVERAGE_COLOURS["overdue"], dashArray="8 6")
        return st

    fg = folium.FeatureGroup(name=escape(_t("layer", lang)), show=show)
    folium.GeoJson(gj, style_function=style,
                   tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False)).add_to(fg)
    return fg


def legend_html(lang: str = "vi") -> str:
    """Legend lines (classes, no style attributes: the server's CSP allows no inline styles)."""
    from bienmoc.maps.page import line

    return f"<b>{escape(_t('layer', lang))}</b>" + "".join(
        line(COVERAGE_COLOURS[k], _t(k, lang)) for k in ("covered", "partial", "none", "overdue"))


def colour_css() -> str:
    """The legend classes of :data:`COVERAGE_COLOURS` (an inline <style>, hashed by the CSP)."""
    from bienmoc.maps.page import colour_class

    return "".join(f".bienmoc-legend .{colour_class(c)}{{background:{c}}}"
                   for c in COVERAGE_COLOURS.values())


def add_coverage(m, cov, model, *, lang: str = "vi", legend: bool = True):
    """Add the coverage overlay to the folium map ``m`` (and, with ``legend``, a legend box of
    its own; ``progress_map`` puts the lines in its legend instead); returns ``m``."""
    import folium

    fg = coverage_layer(cov, model, lang=lang).add_to(m)
    # a LayerControl already on the map lists its layers by their JS variables: the overlay
    # must be defined before it (else Leaflet's control meets an undefined layer)
    items = list(m._children.items())
    ctl = next((i for i, (_, ch) in enumerate(items) if isinstance(ch, folium.LayerControl)),
               None)
    if ctl is not None:
        mine = next(i for i, (_, ch) in enumerate(items) if ch is fg)
        items.insert(ctl, items.pop(mine))
        m._children.clear()
        m._children.update(items)
    root = m.get_root()
    root.header.add_child(folium.Element(f"<style>{colour_css()}</style>"),
                          name="bienmoc_coverage_colours")
    if legend:
        root.html.add_child(folium.Element(
            f'<div class="bienmoc-legend bienmoc-coverage-legend">{legend_html(lang)}</div>'),
            name="bienmoc_coverage_legend")
    return m
