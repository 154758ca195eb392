"""The scaffold every bienmoc map shares: a folium.Map with offline assets, an optional tile
layer, named (empty) layer groups the browser fills from JSON, layer control, scale bar,
legend and (on the server) a filter form."""
from __future__ import annotations

import itertools
import re
from html import escape
from urllib.parse import urlencode
from typing import Callable, Mapping

from branca.element import MacroElement
from jinja2 import Template

from bienmoc.maps.assets import use_assets
from bienmoc.maps.data import base_data, bounds_of, data_version, safe_json, _layer
from bienmoc.maps.style import js_colours
from bienmoc.maps.text import border_name, js_labels, t

__all__ = ["DEFAULT_TILES", "DEFAULT_ATTR", "build_map", "swatch", "ring", "line",
           "colour_class", "colour_css"]

#: Online OSM tiles by default; a local tile server's template works the same way.
DEFAULT_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_ATTR = "© OpenStreetMap contributors"

_ids = itertools.count(1)


class _Init(MacroElement):
    """Calls ``bienmoc.map(map, groups, config)`` once the map and its groups exist."""

    _template = Template("""{% macro script(this, kwargs) %}
    bienmoc.map({{ this._parent.get_name() }}, {{ this.groups_js }}, {{ this.config_js }});
{% endmacro %}""")

    def __init__(self, groups: Mapping[str, object], config: dict):
        super().__init__()
        self._name = "BienmocInit"
        # keys are ours ([a-z_]), values folium's generated variable names
        self.groups_js = "{" + ", ".join(f"{k}: {g.get_name()}" for k, g in groups.items()) + "}"
        self.config_js = safe_json(config)


_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def colour_class(colour: str, prop: str = "bg") -> str:
    """The CSS class giving an element the background (``bg``) or border colour (``bd``)
    ``colour`` (``#rrggbb``). Legends use classes, not style attributes, so the pages need no
    'unsafe-inline' styles under the server's Content-Security-Policy."""
    if not _HEX.fullmatch(colour):
        raise ValueError(f"colour must be #rrggbb, not {colour!r}")
    return f"bm-{prop}-{colour[1:].lower()}"


def _colours(obj) -> set[str]:
    if isinstance(obj, str):
        return {obj.lower()} if _HEX.fullmatch(obj) else set()
    if isinstance(obj, dict):
        return set().union(*(_colours(v) for v in obj.values())) if obj else set()
    return set()


def colour_css() -> str:
    """The rules of :func:`colour_class` for every colour of :mod:`bienmoc.maps.style`."""
    from bienmoc.maps import style

    colours = _colours(js_colours()) | _colours({k: v for k, v in vars(style).items()
                                                 if k.isupper()})
    # scoped to the legend to outrank maps.css's ".bienmoc-legend .ring {border: ...}"
    return "".join(f".bienmoc-legend .{colour_class(c, 'bg')}{{background:{c}}}"
                   f".bienmoc-legend .{colour_class(c, 'bd')}{{border-color:{c}}}"
                   for c in sorted(colours))


def swatch(colour: str, text: str) -> str:
    return f'<div><span class="sw {colour_class(colour)}"></span>{escape(text)}</div>'


def ring(colour: str, text: str) -> str:
    return f'<div><span class="ring {colour_class(colour, "bd")}"></span>{escape(text)}</div>'


def line(colour: str, text: str) -> str:
    return f'<div><span class="line {colour_class(colour)}"></span>{escape(text)}</div>'


def _form(source, kind: str, lang: str, border, province, extra: list[tuple[str, str, str]]
          ) -> str:
    """A GET form that reloads the page with the filters (values from data are escaped)."""
    boundary = _layer(source, "boundary")
    provinces = _layer(source, "provinces")
    borders = sorted(set(boundary["border"].dropna())) if len(boundary) else []
    names = sorted(set(provinces["name"].dropna())) if len(provinces) else []
    if province and province not in names:
        names.append(province)

    def options(values, selected, labeller=str):
        out = [f'<option value="">{escape(t("all", lang))}</option>']
        for v in values:
            sel = " selected" if v == selected else ""
            out.append(f'<option value="{escape(v)}"{sel}>{escape(labeller(v))}</option>')
        return "".join(out)

    other = "en" if lang == "vi" else "vi"
    query = escape(urlencode({k: v for k, v in (("border", border), ("province", province))
                              if v}))
    fields = "".join(
        f'<label>{escape(t(key, lang))} <input type="date" name="{name}" '
        f'value="{escape(value or "")}"></label>' for key, name, value in extra)
    return (f'<form class="bienmoc-filter" method="get" action="">'
            f'<a href="../?lang={lang}">{escape(t("home", lang))}</a>'
            f'<input type="hidden" name="lang" value="{lang}">'
            f'<label>{escape(t("border", lang))} <select name="border">'
            f'{options(borders, border, lambda c: border_name(c, lang))}</select></label>'
            f'<label>{escape(t("province", lang))} <select name="province">'
            f'{options(names, province)}</select></label>{fields}'
            f'<button type="submit">{escape(t("filter", lang))}</button> '
            f'<a href="?lang={other}{"&amp;" + query if query else ""}">'
            f'{escape(t("lang_switch", lang))}</a></form>')


def build_map(kind: str, source, *, lang: str, tiles: str | None, attr: str | None,
              assets: str, data_url: str | None, border: str | None, province: str | None,
              params: dict, payload: Callable[[], dict], groups: list[tuple[str, str, bool]],
              legend: str, bounds_layer: str, form_dates: list[tuple[str, str, str]] | None,
              form: bool, bundles: tuple[str, ...] = ("leaflet", "bienmoc")):
    """A folium.Map for ``kind`` ("overview", "progress", "incidents").

    ``groups``: (key, label key, shown) of each overlay the browser fills; ``payload`` builds
    the data when it is embedded (``data_url`` None); ``params`` are the data URL's query.
    """
    import folium  # heavy: load on use

    if lang not in ("vi", "en"):
        raise ValueError(f"lang must be 'vi' or 'en', not {lang!r}")
    xmin, ymin, xmax, ymax = bounds_of(source, bounds_layer, border, province)
    m = folium.Map(location=[(ymin + ymax) / 2, (xmin + xmax) / 2], zoom_start=6, tiles=None,
                   control_scale=True, prefer_canvas=True)
    m.options["max_zoom"] = 19   # markercluster needs it (there may be no tile layer)
    m.fit_bounds([[ymin, xmin], [ymax, xmax]], padding=(20, 20))
    if tiles:
        folium.TileLayer(tiles=tiles, attr=attr or "", name=t("tiles", lang), max_zoom=19,
                         overlay=False, control=True).add_to(m)
    fg = {}
    for key, label_key, show in groups:
        fg[key] = folium.FeatureGroup(name=escape(t(label_key, lang)), show=show).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    map_id = f"bm{next(_ids)}"
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    version = data_version(source)
    if data_url is not None:
        vq = {"v": version} if version else {}
        base = {"url": f"{data_url}/base", "params": {**({"border": border} if border else {}),
                                                      **vq}}
        src = {"url": f"{data_url}/{kind if kind != 'overview' else 'progress'}",
               "params": {**clean, **vq, "lang": lang}}
    else:
        base = {"data": base_data(source, border=border)}
        src = {"data": payload()}
    config = {"id": map_id, "kind": kind, "lang": lang, "labels": js_labels(lang),
              "colours": js_colours(), "base": base, "source": src,
              "status_box": kind == "incidents"}
    _Init(fg, config).add_to(m)
    use_assets(m, bundles, assets)
    root = m.get_root()
    root.header.add_child(folium.Element(
        f"<title>{escape(t(kind + '_title', lang))}</title>"), name="bienmoc_title")
    root.header.add_child(folium.Element(f"<style>{colour_css()}</style>"),
                          name="bienmoc_colours")
    legend = legend.replace("{map_id}", map_id)
    root.html.add_child(folium.Element(
        f'<div class="bienmoc-legend" data-bm-map="{map_id}">'
        f'<b>{escape(t("legend", lang))}</b>{legend}</div>'), name="bienmoc_legend")
    if form:
        root.html.add_child(folium.Element(_form(source, kind, lang, border, province,
                                                 form_dates or [])), name="bienmoc_form")
    return m
