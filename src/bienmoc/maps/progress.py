"""The construction-progress map: markers by construction status and condition, works with
their derived status (stalled ones highlighted), markers overdue for inspection."""
from __future__ import annotations

from html import escape
from typing import Mapping

from bienmoc.analysis.progress import DEFAULT_STALL_DAYS, WorkStatus, as_of_date
from bienmoc.model.schema import Condition, ConstructionStatus, DemarcationStatus, label
from bienmoc.maps.data import progress_data
from bienmoc.maps.page import DEFAULT_ATTR, DEFAULT_TILES, build_map, line, ring, swatch
from bienmoc.maps.style import (BOUNDARY_COLOUR, CONDITION_COLOURS, NEVER_RING, OVERDUE_RING,
                                RING_MIN_ZOOM, SECTION_COLOURS, STALLED_HALO, STATUS_COLOURS,
                                WORK_COLOURS)
from bienmoc.maps.text import t

__all__ = ["progress_map"]


def _legend(lang: str) -> str:
    out = [f"<b>{t('legend_status', lang)}</b>"]
    out += [swatch(c, label(ConstructionStatus(s), lang)) for s, c in STATUS_COLOURS.items()]
    out.append(f"<b>{t('legend_condition', lang)}</b>")
    out += [ring(c, label(Condition(s), lang)) for s, c in CONDITION_COLOURS.items()]
    out.append(f"<b>{t('legend_work', lang)}</b>")
    out += [swatch(c, label(WorkStatus(s), lang)) for s, c in WORK_COLOURS.items()]
    out += [ring(STALLED_HALO, t("stalled", lang)), ring(OVERDUE_RING, t("overdue", lang)),
            ring(NEVER_RING, t("never", lang)),
            f'<div><span class="bm-due-agg bm-due-overdue bm-legend-agg">3</span>'
            f'{escape(t("due_sections", lang).format(z=RING_MIN_ZOOM))}'
            f'</div>', line(BOUNDARY_COLOUR, t("boundary", lang))]
    out.append(f"<b>{t('sections', lang)}</b>")
    out += [line(c, label(DemarcationStatus(s), lang)) for s, c in SECTION_COLOURS.items()]
    return "".join(out)


def _coverage_legend(lang: str) -> str:
    from bienmoc.maps.coverage import legend_html

    return legend_html(lang)


def progress_map(source, *, lang: str = "vi", border: str | None = None,
                 province: str | None = None, as_of=None,
                 stall_days: int = DEFAULT_STALL_DAYS,
                 cycle_months: Mapping[str, int] | None = None,
                 tiles: str | None = DEFAULT_TILES, attr: str | None = DEFAULT_ATTR,
                 assets: str = "inline", data_url: str | None = None, form: bool = False,
                 dem=None, terrain_url: str | None = None, coverage=None):
    """A :class:`folium.Map` of construction progress.

    ``source``: a store or a mapping of layer name → frame. Markers are coloured by
    construction status (fill) and by a condition that needs action (outline); works by
    status (:func:`bienmoc.progress.work_status`), stalled ones with a red halo; markers due
    for inspection (:func:`bienmoc.inspections.inspections_due`) with a dashed ring (never
    inspected: a grey ring, layer hidden at first). Filters: ``border``, ``province``,
    ``as_of`` (default today).

    ``tiles``: URL template of a tile layer (None: the vector base map only). ``assets``:
    ``"inline"`` (JS/CSS embedded: notebooks, saved files) or a URL prefix of the server's
    static files. ``data_url``: fetch the data from the map server's JSON endpoints under
    this URL prefix instead of embedding it. ``form``: add the filter form (server pages).
    ``dem`` (a Dem or a path): add the terrain layers of :mod:`bienmoc.maps.terrain`
    (hillshade, slope classes, marker pairs not intervisible, terrain popups); their images
    come from ``terrain_url`` (the server's ``/terrain``) or are embedded.
    ``coverage``: a :class:`~bienmoc.analysis.coverage.Coverage` drawn as an overlay of marker
    sections covered / not covered / overdue (:mod:`bienmoc.maps.coverage`).
    """
    as_of_s = as_of_date(as_of).strftime("%Y-%m-%d")
    params = {"border": border, "province": province, "as_of": as_of_s}
    if stall_days != DEFAULT_STALL_DAYS:
        params["stall_days"] = stall_days
    groups = [("neighbours", "neighbours", True), ("provinces", "provinces", True),
              ("sections", "sections", True),
              ("boundary", "boundary", True), ("markers", "markers", True),
              ("works", "works", True), ("stalled", "stalled", True),
              ("overdue", "overdue", True), ("never", "never", False)]
    m = build_map(
        "progress", source, lang=lang, tiles=tiles, attr=attr, assets=assets,
        data_url=data_url, border=border, province=province, params=params,
        payload=lambda: progress_data(source, border=border, province=province, as_of=as_of_s,
                                      stall_days=stall_days, cycle_months=cycle_months),
        groups=groups, legend=_legend(lang)
        + (_terrain_legend(lang) if dem is not None else "")
        + (_coverage_legend(lang) if coverage is not None else ""),
        bounds_layer="markers", form_dates=[("as_of", "as_of", as_of_s)], form=form,
        bundles=("leaflet", "bienmoc", "terrain") if dem is not None else ("leaflet", "bienmoc"))
    if dem is not None:
        from bienmoc.maps.terrain import add_terrain

        add_terrain(m, source, dem, lang=lang, border=border, province=province,
                    overlay_url=terrain_url)
    if coverage is not None:
        from bienmoc.geometry.locate import BorderModel
        from bienmoc.maps.coverage import add_coverage

        add_coverage(m, coverage, BorderModel.from_source(source), lang=lang, legend=False)
    return m


def _terrain_legend(lang: str) -> str:
    from bienmoc.maps.terrain import legend

    return legend(lang)
