"""The incidents map: violations by kind and status, clustered, with a heat map; the popup says
on which side of the border and in which marker area ("khu vực mốc X – Y") each one is."""
from __future__ import annotations

from html import escape

from bienmoc.model.schema import IncidentKind, IncidentStatus, label
from bienmoc.maps.data import _date, _iso, incidents_data, parse_codes
from bienmoc.maps.filters import check_codes
from bienmoc.maps.page import DEFAULT_ATTR, DEFAULT_TILES, build_map, colour_class, line
from bienmoc.maps.style import BOUNDARY_COLOUR, INCIDENT_COLOURS
from bienmoc.maps.text import t

__all__ = ["incidents_map"]


def _legend(lang: str, kinds, statuses) -> str:
    """The legend doubles as the kind/status filter (check boxes read by maps.js)."""
    def box(what, code, text, colour=None, on=True):
        sw = f'<span class="sw {colour_class(colour)}"></span>' if colour else ""
        return (f'<label><input type="checkbox" data-bm-map="{{map_id}}" data-bm-filter="{what}"'
                f' value="{code}"{" checked" if on else ""}> {sw}{escape(text)}</label>')

    out = [f"<b>{escape(t('legend_kind', lang))}</b>"]
    out += [box("kind", k.value, label(k, lang), on=not kinds or k.value in kinds)
            for k in IncidentKind]
    out.append(f"<b>{escape(t('legend_istatus', lang))}</b>")
    out += [box("status", s.value, label(s, lang), INCIDENT_COLOURS[s.value],
                on=not statuses or s.value in statuses) for s in IncidentStatus]
    out.append(line(BOUNDARY_COLOUR, t("boundary", lang)))
    return "".join(out)


def incidents_map(source, *, lang: str = "vi", border: str | None = None,
                  province: str | None = None, date_from=None, date_to=None, kinds=None,
                  statuses=None, tiles: str | None = DEFAULT_TILES,
                  attr: str | None = DEFAULT_ATTR, assets: str = "inline",
                  data_url: str | None = None, form: bool = False,
                  limit: int | None = None):
    """A :class:`folium.Map` of incidents.

    Filters: ``border``, ``province``, reported date from ``date_from`` to ``date_to``
    (inclusive), ``kinds`` and ``statuses`` (codes or labels; also check boxes in the
    legend). Incidents are clustered (Leaflet.markercluster) with a heat-map layer; the popup
    shows kind, status, dates, the side of the border and the location description of
    :class:`bienmoc.locate.BorderModel`.

    Embedded (``data_url`` None), every incident of the filters is in the page (``limit``
    caps it: beyond, counts per grid cell are embedded instead). From the server
    (``data_url``), the browser asks for the current view: points with popups when at most
    :data:`~bienmoc.maps.data.POINTS_LIMIT` are in view, else counts per grid cell.
    Other arguments as :func:`bienmoc.maps.progress_map`.
    """
    check_codes(kinds, IncidentKind, "kind")        # unknown: an error naming the value
    check_codes(statuses, IncidentStatus, "status")
    kinds = parse_codes(kinds, IncidentKind, "kind")
    statuses = parse_codes(statuses, IncidentStatus, "status")
    d0, d1 = _iso(_date(date_from, "from")), _iso(_date(date_to, "to"))
    params = {"border": border, "province": province, "from": d0, "to": d1,
              "kind": ",".join(kinds) if kinds else None,
              "status": ",".join(statuses) if statuses else None}
    groups = [("neighbours", "neighbours", True), ("provinces", "provinces", True),
              ("boundary", "boundary", True), ("heat", "heat", True),
              ("incidents", "incidents", True)]
    return build_map(
        "incidents", source, lang=lang, tiles=tiles, attr=attr, assets=assets,
        data_url=data_url, border=border, province=province, params=params,
        payload=lambda: incidents_data(source, border=border, province=province, date_from=d0,
                                       date_to=d1, kinds=kinds, statuses=statuses, lang=lang,
                                       limit=limit),
        groups=groups, legend=_legend(lang, kinds, statuses), bounds_layer="incidents",
        form_dates=[("date_from", "from", d0), ("date_to", "to", d1)], form=form,
        bundles=("leaflet", "markercluster", "heat", "bienmoc"))
