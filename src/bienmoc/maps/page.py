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

from bienmoc.model.places import in_area
from bienmoc.maps.assets import use_assets
from bienmoc.maps.data import base_data, bounds_of, data_version, safe_json, _layer
from bienmoc.maps.filters import check_filters
from bienmoc.maps.style import cluster_css, js_colours, js_zooms
from bienmoc.maps.text import border_name, js_labels, t

__all__ = ["DEFAULT_TILES", "DEFAULT_ATTR", "build_map", "swatch", "ring", "line",
           "colour_class", "colour_css", "date_input", "dmy", "DATE_PATTERN",
           "gate_symbol", "gate_legend"]

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


#: What a date field accepts (dd/mm/yyyy; ISO also passes, as parse_date reads both).
#: (The browser checks the day 1-31 and month 1-12, so a month-first 06/13/2025 is refused
#: at once; impossible days such as 31/02 are left to the server's parser.)
DATE_PATTERN = (r"(0?[1-9]|[12]\d|3[01])/(0?[1-9]|1[0-2])/\d{4}"
                r"|\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")


def dmy(iso: str | None) -> str:
    """'2025-06-01' → '01/06/2025' (the date fields show day first in both languages)."""
    if not iso:
        return ""
    y, m, d = str(iso)[:10].split("-")
    return f"{d}/{m}/{y}"


def date_input(label: str, name: str, iso: str | None) -> str:
    """A labelled dd/mm/yyyy text field (pattern-checked in the browser, parsed on the server
    by :func:`bienmoc.model.dates.parse_date`)."""
    return (f'<label>{escape(label)} <input type="text" name="{name}" class="bm-date" '
            f'inputmode="numeric" pattern="{DATE_PATTERN}" placeholder="dd/mm/yyyy" '
            f'title="dd/mm/yyyy" size="10" maxlength="10" value="{escape(dmy(iso))}"></label>')


def gate_symbol(kind: str, status: str) -> str:
    """The gate symbol of the map (maps.css: shape by kind, fill/outline by status)."""
    k = kind if re.fullmatch(r"[a-z_]+", kind or "") else "other"
    st = status if re.fullmatch(r"[a-z_]+", status or "") else "other"
    return f'<span class="bm-gate bm-gk-{k} bm-gs-{st}"></span>'


def gate_legend(source, border, province, lang: str) -> str:
    """One legend line per gate kind × status present in the (filtered) gates layer."""
    from bienmoc.model.schema import GateKind, GateStatus, label

    gates = _layer(source, "gates")
    if len(gates):
        gates = in_area(gates, border, province)
    combos = set(zip(gates["kind"], gates["status"])) if len(gates) else set()
    order = [(k.value, s.value) for k in GateKind for s in GateStatus]
    out = [f"<b>{escape(t('gates', lang))}</b>"]
    for k, st in [c for c in order if c in combos]:
        out.append(f'<div class="bm-gate-item" data-kind="{k}" data-status="{st}">'
                   f'<span class="bm-gate-sym">{gate_symbol(k, st)}</span>'
                   f'{escape(label(GateKind(k), lang))} – {escape(label(GateStatus(st), lang))}'
                   f'</div>')
    return "".join(out) if len(out) > 1 else ""


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
    # dd/mm/yyyy text fields in both languages (an <input type=date> shows the browser
    # locale's order, e.g. mm/dd/yyyy); the server reads them with model.dates.parse_date
    fields = "".join(date_input(t(key, lang), name, value) for key, name, value in extra)
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
    check_filters(source, border, province)   # unknown values: an error, not a blank map
    xmin, ymin, xmax, ymax = bounds_of(source, bounds_layer, border, province)
    # the scale bar is added by maps.js: metric only (folium's shows miles too)
    m = folium.Map(location=[(ymin + ymax) / 2, (xmin + xmax) / 2], zoom_start=6, tiles=None,
                   control_scale=False, prefer_canvas=True)
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
              "colours": js_colours(), "zooms": js_zooms(), "base": base, "source": src,
              "status_box": kind == "incidents",
              # popups link the record's history page (server only: notebooks have none)
              "history": None if data_url is None else "../history"}
    _Init(fg, config).add_to(m)
    use_assets(m, bundles, assets)
    root = m.get_root()
    root.header.add_child(folium.Element(
        f"<title>{escape(t(kind + '_title', lang))}</title>"), name="bienmoc_title")
    root.header.add_child(folium.Element(f"<style>{colour_css()}{cluster_css()}</style>"),
                          name="bienmoc_colours")
    legend = legend.replace("{map_id}", map_id)
    root.html.add_child(folium.Element(
        f'<div class="bienmoc-legend" data-bm-map="{map_id}">'
        f'<b>{escape(t("legend", lang))}</b>{legend}</div>'), name="bienmoc_legend")
    if form:
        root.html.add_child(folium.Element(_form(source, kind, lang, border, province,
                                                 form_dates or [])), name="bienmoc_form")
    return m
