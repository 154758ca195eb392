"""Terrain layers of the maps, when a DEM is known (issue 14, item 8).

:func:`terrain_data` is the payload: per marker (part) a popup of its elevation (DEM, and the
recorded one), slope and landslide exposure class; per border the consecutive marker pairs
that are not intervisible (:func:`bienmoc.terrain.visibility.intervisibility`), drawn as
dashed lines. :func:`add_terrain` adds to a folium map built by :func:`bienmoc.maps.page.
build_map`: two image overlays (hillshade and slope classes, from the server's
``/terrain/{kind}.png`` or embedded as data URIs offline, see
:mod:`bienmoc.terrain.overlay`), two empty layer groups filled in the browser by
``bienmoc/terrain.js`` from the payload (popup text reaches the DOM by ``textContent`` only),
and the legend entries (:func:`legend`).
"""
from __future__ import annotations

import base64
import math
from html import escape

import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template
from pyproj import Transformer

from bienmoc.maps.page import line, swatch
from bienmoc.maps.style import BLOCKED_PAIR_COLOUR, SLOPE_CLASS_COLOURS

__all__ = ["terrain_data", "add_terrain", "legend", "TEXT"]

TEXT = {
    "vi": {"hillshade": "Bóng địa hình", "slope": "Cấp độ dốc", "blocked": "Cặp mốc không "
           "thông hướng", "marker_terrain": "Địa hình tại mốc", "elev_dem": "Độ cao (DEM)",
           "elev_rec": "Độ cao ghi nhận", "slope_v": "Độ dốc", "exposure": "Mức phơi nhiễm sạt lở",
           "clearance": "độ hở nhỏ nhất", "pair": "Mốc {a} – {b}: không thông hướng",
           "nodata": "không có dữ liệu", "legend": "Địa hình (DEM)",
           "classes": {"low": "thấp", "medium": "trung bình", "high": "cao"}},
    "en": {"hillshade": "Hillshade", "slope": "Slope classes", "blocked": "Marker pairs not "
           "intervisible", "marker_terrain": "Terrain at markers", "elev_dem": "Elevation (DEM)",
           "elev_rec": "Recorded elevation", "slope_v": "Slope",
           "exposure": "Landslide exposure", "clearance": "least clearance",
           "pair": "Markers {a} – {b}: not intervisible", "nodata": "no data",
           "legend": "Terrain (DEM)",
           "classes": {"low": "low", "medium": "medium", "high": "high"}},
}
_SLOPE_LABELS = ("<10°", "10–20°", "20–30°", "30–40°", "≥40°")


def _fmt(v, unit: str, digits: int, lang: str, nodata: str) -> str:
    if v is None or not np.isfinite(v):
        return nodata
    s = f"{v:,.{digits}f}"
    if lang == "vi":
        s = s.replace(",", " ").replace(".", ",")
    return f"{s} {unit}".strip()


def terrain_data(source, dem, *, lang: str = "vi", border: str | None = None) -> dict:
    """{"markers": [[lon, lat, number, [popup lines]]...], "blocked": [[[lat, lon], [lat,
    lon], text]...]} for the markers of ``border`` (all borders when None)."""
    from bienmoc.geometry.locate import BorderModel
    from bienmoc.maps.data import _layer
    from bienmoc.terrain.dem import _as_dem, point_xy
    from bienmoc.terrain.risk import landslide_exposure
    from bienmoc.terrain.slope import slope_aspect
    from bienmoc.terrain.visibility import _markers, intervisibility

    T = TEXT[lang]
    f = {n: _layer(source, n) for n in ("boundary", "markers", "provinces", "incidents")}
    m = f["markers"]
    if border:
        m = m[m["border"] == border]
    m = m[m.geometry.notna() & ~m.geometry.is_empty]
    bm = BorderModel(f["boundary"], f["markers"], f["provinces"])
    borders = [b for b in bm.index.borders if not border or b == border]
    d, opened = _as_dem(dem)
    try:
        out_m = []
        if len(m):
            x, y, crs = point_xy(m)
            z = d.sample(x, y, crs=crs)
            s, _ = slope_aspect(d, x, y, crs=crs)
            exposure: dict[tuple, str] = {}
            inc = f["incidents"]
            slides = inc[inc["kind"] == "landslide"] if len(inc) else None
            for b in borders:
                if b not in bm.markers:
                    continue
                ex = landslide_exposure(bm, b, d, landslides=slides)
                exposure.update({(b, n): e for n, e in zip(ex.markers["marker"],
                                                           ex.markers["exposure"])})
            ll = m.geometry.to_crs(4326)
            rec = pd.to_numeric(m["elevation_m"], errors="coerce").to_numpy(float)
            for i, (num, b) in enumerate(zip(m["number"], m["border"])):
                key = (b, str(num).split("(")[0])        # 102(1) stands at position 102
                lines = [f'{T["elev_dem"]}: {_fmt(z[i], "m", 1, lang, T["nodata"])}']
                if np.isfinite(rec[i]):
                    lines.append(f'{T["elev_rec"]}: {_fmt(rec[i], "m", 1, lang, T["nodata"])}')
                lines.append(f'{T["slope_v"]}: {_fmt(s[i], "°", 1, lang, T["nodata"])}')
                e = exposure.get(key)
                lines.append(f'{T["exposure"]}: {T["classes"].get(e, T["nodata"])}')
                out_m.append([round(float(ll.x.iloc[i]), 6), round(float(ll.y.iloc[i]), 6),
                              str(num), lines])
        blocked = []
        to_ll = Transformer.from_crs(bm.crs, "EPSG:4326", always_xy=True)
        for b in borders:
            pos, _, xy = _markers(bm, b)
            if len(pos) < 2:
                continue
            at = dict(zip(pos, range(len(pos))))
            rows = intervisibility(bm, b, d)
            lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
            for r in rows[~rows["visible"].astype(bool)].itertuples(index=False):
                i, j = at[r.marker_from], at[r.marker_to]
                text = T["pair"].format(a=r.marker_from, b=r.marker_to)
                if np.isfinite(r.clearance_m):
                    text += f' ({T["clearance"]} {_fmt(r.clearance_m, "m", 1, lang, "")})'
                blocked.append([[round(lat[i], 6), round(lon[i], 6)],
                                [round(lat[j], 6), round(lon[j], 6)], text, r.marker_from,
                                r.marker_to])
    finally:
        if opened:
            d.close()
    return {"markers": out_m, "blocked": blocked}


def legend(lang: str) -> str:
    """Legend entries (HTML) of the terrain layers."""
    T = TEXT[lang]
    out = [f"<b>{escape(T['legend'])}</b>", line(BLOCKED_PAIR_COLOUR, T["blocked"]),
           f"<div>{escape(T['slope'])}:</div>"]
    out += [swatch(c, lab) for c, lab in zip(SLOPE_CLASS_COLOURS.values(), _SLOPE_LABELS)]
    return "".join(out)


class _TerrainInit(MacroElement):
    """Calls ``bienmocTerrain(map, groups, payload)`` (bienmoc/terrain.js)."""

    _template = Template("""{% macro script(this, kwargs) %}
    bienmocTerrain({{ this._parent.get_name() }}, {{ this.groups_js }}, {{ this.data_js }});
{% endmacro %}""")

    def __init__(self, groups: dict, data_js: str):
        super().__init__()
        self._name = "BienmocTerrain"
        self.groups_js = "{" + ", ".join(f"{k}: {g.get_name()}" for k, g in groups.items()) + "}"
        self.data_js = data_js


def _pad(bounds, frac: float = 0.1):
    x0, y0, x1, y1 = bounds
    px, py = max((x1 - x0) * frac, 0.03), max((y1 - y0) * frac, 0.03)
    return (max(x0 - px, -180), max(y0 - py, -85), min(x1 + px, 180), min(y1 + py, 85))


def overlay_size(bbox, max_px: int = 1600) -> tuple[int, int]:
    """Image size (px) of a bbox keeping Web Mercator's aspect, the longer side ``max_px``."""
    from bienmoc.terrain.overlay import _TO_MERC

    mx0, my0 = _TO_MERC.transform(bbox[0], bbox[1])
    mx1, my1 = _TO_MERC.transform(bbox[2], bbox[3])
    w, h = mx1 - mx0, my1 - my0
    if w >= h:
        return max_px, max(int(math.ceil(max_px * h / w)), 1)
    return max(int(math.ceil(max_px * w / h)), 1), max_px


def add_terrain(m, source, dem, *, lang: str, border: str | None = None,
                province: str | None = None, overlay_url: str | None = None,
                max_px: int = 1200) -> None:
    """Add the terrain layers to the folium map ``m``. ``overlay_url``: the server's prefix
    of ``/terrain`` (e.g. ``"../terrain"``); None embeds the images as data URIs."""
    import folium
    from urllib.parse import urlencode

    from bienmoc.maps.data import bounds_of, safe_json
    from bienmoc.terrain.overlay import overlay_png

    T = TEXT[lang]
    bbox = _pad(bounds_of(source, "markers", border, province))
    w, h = overlay_size(bbox, max_px)
    for kind, show in (("hillshade", True), ("slope", False)):
        if overlay_url is not None:
            q = urlencode({"bbox": ",".join(f"{v:.6f}" for v in bbox), "width": w,
                           "height": h})
            url = f"{overlay_url}/{kind}.png?{q}"
        else:
            url = "data:image/png;base64," + base64.b64encode(
                overlay_png(dem, bbox, w, h, kind)).decode("ascii")
        layer = folium.raster_layers.ImageOverlay(
            "data:image/png;base64,", bounds=[[bbox[1], bbox[0]], [bbox[3], bbox[2]]],
            name=escape(T[kind]), show=show, overlay=True, control=True, zindex=1)
        # set after construction: folium would read a relative URL as a local file name
        layer.url = url
        layer.add_to(m)
    groups = {"blocked": folium.FeatureGroup(name=escape(T["blocked"]), show=True).add_to(m),
              "markers": folium.FeatureGroup(name=escape(T["marker_terrain"]),
                                             show=False).add_to(m)}
    payload = terrain_data(source, dem, lang=lang, border=border)
    payload["colour"] = BLOCKED_PAIR_COLOUR
    _TerrainInit(groups, safe_json(payload)).add_to(m)
    # the layer control's script names every layer: it must come after the ones added here
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl):
            m._children.move_to_end(key)
