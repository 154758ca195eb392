"""The overview map: provinces, boundary lines, markers coloured by status, gates."""
from __future__ import annotations

from html import escape
from typing import Mapping

import geopandas as gpd

from ..crs import to_metric
from ..schema import (ConstructionStatus, Condition, GateKind, GateStatus, MarkerKind, label)
from .style import (BOUNDARY_COLOUR, CONDITION_COLOURS, GATE_COLOUR, PROVINCE_STYLE,
                    STATUS_COLOURS, marker_colour)

__all__ = ["overview_map", "simplify_m"]

_T = {
    "vi": {"boundary": "Đường biên giới", "markers": "Cột mốc", "gates": "Cửa khẩu",
           "provinces": "Tỉnh biên giới", "legend": "Chú giải", "number": "Số hiệu",
           "kind": "Loại", "status": "Xây dựng", "condition": "Tình trạng", "province": "Tỉnh",
           "name": "Tên", "paired": "Đối diện", "gate_status": "Trạng thái",
           "title": "Bản đồ tổng quan biên giới đất liền"},
    "en": {"boundary": "Boundary line", "markers": "Markers", "gates": "Border gates",
           "provinces": "Border provinces", "legend": "Legend", "number": "Number",
           "kind": "Kind", "status": "Construction", "condition": "Condition",
           "province": "Province", "name": "Name", "paired": "Paired with",
           "gate_status": "Status", "title": "Land border overview"},
}


def _frames(source, names) -> Mapping[str, gpd.GeoDataFrame]:
    if isinstance(source, Mapping):
        return {n: source[n] for n in names if n in source}
    return {n: source.read(n) for n in names}


def simplify_m(gdf: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """Simplify geometries with a tolerance in metres (in the metric CRS), back to EPSG:4326."""
    if not len(gdf):
        return gdf
    metric = to_metric(gdf)
    metric = metric.set_geometry(metric.geometry.simplify(tolerance_m, preserve_topology=True))
    return metric.to_crs(gdf.crs)


def _legend_html(lang: str) -> str:
    t = _T[lang]
    items = [(c, label(ConstructionStatus(s), lang)) for s, c in STATUS_COLOURS.items()]
    items += [(c, label(Condition(s), lang)) for s, c in CONDITION_COLOURS.items()]
    rows = "".join(f'<div><span style="display:inline-block;width:10px;height:10px;'
                   f'border-radius:5px;background:{c};margin-right:4px"></span>{escape(n)}</div>'
                   for c, n in items)
    rows += (f'<div><span style="display:inline-block;width:10px;height:3px;'
             f'background:{BOUNDARY_COLOUR};margin-right:4px"></span>{escape(t["boundary"])}'
             f'</div><div><span style="display:inline-block;width:8px;height:8px;'
             f'background:{GATE_COLOUR};margin-right:4px"></span>{escape(t["gates"])}</div>')
    return (f'<div class="bienmoc-legend" style="position:fixed;bottom:24px;left:12px;'
            f'z-index:9999;background:white;padding:6px 8px;border:1px solid #999;'
            f'font:12px sans-serif"><b>{escape(t["legend"])}</b>{rows}</div>')


def overview_map(source, *, lang: str = "vi", tiles: str | None = "OpenStreetMap",
                 attr: str | None = None, border: str | None = None,
                 province: str | None = None):
    """A :class:`folium.Map` of the border: provinces, lines, markers by status, gates.

    ``source`` is a store or a mapping of layer name to GeoDataFrame. Every value taken from
    data is HTML-escaped before it reaches a popup.
    """
    import folium  # heavy: load on use

    t = _T[lang]
    f = _frames(source, ("boundary", "provinces", "markers", "gates"))
    markers = f["markers"]
    gates = f.get("gates", gpd.GeoDataFrame())
    if border:
        markers = markers[markers["border"] == border]
        gates = gates[gates["border"] == border] if len(gates) else gates
    if province:
        markers = markers[markers["province"].fillna("").str.casefold() == province.casefold()]
        gates = gates[gates["province"].fillna("").str.casefold() == province.casefold()] \
            if len(gates) else gates
    bounds_src = markers if len(markers) else f["boundary"]
    xmin, ymin, xmax, ymax = bounds_src.total_bounds if len(bounds_src) else (102, 8, 110, 23.5)
    m = folium.Map(location=[(ymin + ymax) / 2, (xmin + xmax) / 2], zoom_start=6, tiles=tiles,
                   attr=attr, control_scale=True, prefer_canvas=True)
    m.fit_bounds([[ymin, xmin], [ymax, xmax]])

    provinces = f.get("provinces")
    if provinces is not None and len(provinces):
        folium.GeoJson(
            simplify_m(provinces[["name", "geometry"]], 300).to_json(),
            name=t["provinces"], style_function=lambda _: PROVINCE_STYLE,
            tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=[t["province"]]),
        ).add_to(m)
    boundary = f["boundary"]
    if len(boundary):
        folium.GeoJson(
            simplify_m(boundary[["border", "name_vi", "geometry"]], 30).to_json(),
            name=t["boundary"],
            style_function=lambda _: {"color": BOUNDARY_COLOUR, "weight": 3},
        ).add_to(m)

    group = folium.FeatureGroup(name=t["markers"]).add_to(m)
    for row in markers.itertuples(index=False):
        if row.geometry is None:
            continue
        popup = (f"<b>{escape(t['number'])}: {escape(str(row.number))}</b><br>"
                 f"{escape(t['kind'])}: {escape(label(MarkerKind(row.kind), lang))}<br>"
                 f"{escape(t['status'])}: "
                 f"{escape(label(ConstructionStatus(row.construction_status), lang))}<br>"
                 f"{escape(t['condition'])}: {escape(label(Condition(row.condition), lang))}"
                 f"<br>{escape(t['province'])}: {escape(str(row.province or ''))}")
        folium.CircleMarker(
            location=[row.geometry.y, row.geometry.x],
            radius=6 if row.kind == "large" else 3,
            color=marker_colour(row.construction_status, row.condition), weight=1,
            fill=True, fill_opacity=0.9, popup=folium.Popup(popup, max_width=300),
            tooltip=escape(str(row.number)),
        ).add_to(group)

    gate_group = folium.FeatureGroup(name=t["gates"]).add_to(m)
    for row in (gates.itertuples(index=False) if len(gates) else []):
        popup = (f"<b>{escape(str(row.name))}</b> – {escape(str(row.paired_gate or ''))}<br>"
                 f"{escape(t['kind'])}: {escape(label(GateKind(row.kind), lang))}<br>"
                 f"{escape(t['gate_status'])}: {escape(label(GateStatus(row.status), lang))}")
        folium.RegularPolygonMarker(
            location=[row.geometry.y, row.geometry.x], number_of_sides=4, radius=7,
            color=GATE_COLOUR, fill=True, fill_opacity=0.8,
            popup=folium.Popup(popup, max_width=300), tooltip=escape(str(row.name)),
        ).add_to(gate_group)

    folium.LayerControl(collapsed=False).add_to(m)
    m.get_root().html.add_child(folium.Element(_legend_html(lang)))
    m.get_root().header.add_child(folium.Element(f"<title>{escape(t['title'])}</title>"))
    return m
