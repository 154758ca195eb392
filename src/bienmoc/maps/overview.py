"""The overview map: provinces, neighbouring countries, boundary lines, markers by status,
gates. (Markers are drawn by the browser from one compact JSON: see ``maps.js``.)"""
from __future__ import annotations

from html import escape

from bienmoc.analysis.progress import as_of_date
from bienmoc.model.schema import Condition, ConstructionStatus, label
from bienmoc.maps.data import progress_data, simplify_m
from bienmoc.maps.page import (DEFAULT_ATTR, DEFAULT_TILES, build_map, gate_legend, line, ring,
                               swatch)
from bienmoc.maps.style import BOUNDARY_COLOUR, CONDITION_COLOURS, STATUS_COLOURS
from bienmoc.maps.text import t

__all__ = ["overview_map", "simplify_m"]


def _legend(lang: str, gates: str = "") -> str:
    out = [f"<b>{escape(t('legend_status', lang))}</b>"]
    out += [swatch(c, label(ConstructionStatus(s), lang)) for s, c in STATUS_COLOURS.items()]
    out.append(f"<b>{escape(t('legend_condition', lang))}</b>")
    out += [ring(c, label(Condition(s), lang)) for s, c in CONDITION_COLOURS.items()]
    out.append(line(BOUNDARY_COLOUR, t("boundary", lang)))
    out.append(gates)   # each gate kind × status shown, with its symbol
    return "".join(out)


def overview_map(source, *, lang: str = "vi", tiles: str | None = DEFAULT_TILES,
                 attr: str | None = DEFAULT_ATTR, border: str | None = None,
                 province: str | None = None, as_of=None, assets: str = "inline",
                 data_url: str | None = None, form: bool = False):
    """A :class:`folium.Map` of the border: provinces, neighbouring countries, lines, markers
    by construction status and current condition, gates.

    ``source`` is a store or a mapping of layer name to GeoDataFrame; the other arguments as
    :func:`bienmoc.maps.progress_map`. Every value taken from data reaches the page as
    escaped JSON and is put into popups as text, never as HTML.
    """
    if tiles == "OpenStreetMap":   # folium's name for the same tiles
        tiles, attr = DEFAULT_TILES, attr or DEFAULT_ATTR
    as_of_s = as_of_date(as_of).strftime("%Y-%m-%d")
    groups = [("neighbours", "neighbours", True), ("provinces", "provinces", True),
              ("boundary", "boundary", True), ("markers", "markers", True),
              ("gates", "gates", True)]
    return build_map(
        "overview", source, lang=lang, tiles=tiles, attr=attr, assets=assets,
        data_url=data_url, border=border, province=province,
        params={"border": border, "province": province, "as_of": as_of_s},
        payload=lambda: progress_data(source, border=border, province=province, as_of=as_of_s),
        groups=groups, legend=_legend(lang, gate_legend(source, border, province, lang)),
        bounds_layer="markers", form_dates=[], form=form)
