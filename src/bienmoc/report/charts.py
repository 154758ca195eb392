"""The report's pictures, rendered offline to PNG with matplotlib: the area's map (markers by
status, works by derived status, the period's incidents by status) and the monthly incidents
chart.

Why matplotlib and not headless Chromium on the Folium page: a report must build on an
officer's laptop with no browser and no network (the web maps fetch no tiles offline anyway,
so they would show the same vector layers), in well under the 10 s budget — a Chromium start
alone costs seconds. matplotlib draws the store's own geometries directly; the colours are
those of the web maps (:mod:`bienmoc.maps.style`), so the printed map reads like the screen one.
"""
from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")  # no display: files only (set before pyplot is imported)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from bienmoc.model.labels import catalogue  # noqa: E402
from bienmoc.maps.style import (BOUNDARY_COLOUR, INCIDENT_COLOURS, PROVINCE_STYLE,  # noqa: E402
                                WORK_COLOURS, marker_colour)
from bienmoc.model.schema import label  # noqa: E402

__all__ = ["area_map_png", "monthly_chart_png"]

_T = {
    "markers": ("Cột mốc, cọc dấu", "Markers, stakes"),
    "works": ("Công trình", "Works"),
    "incidents": ("Vụ việc trong kỳ", "Incidents in the period"),
    "boundary": ("Đường biên giới", "Boundary line"),
    "province": ("Địa giới tỉnh", "Province"),
    "month": ("Tháng", "Month"),
    "count": ("Số vụ việc", "Incidents"),
}


_t = catalogue(_T)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    # "tight": the legend outside the axes is kept whole
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    return buf.getvalue()


def area_map_png(*, markers, works_status: pd.DataFrame, works, incidents, boundary,
                 provinces, province: str | None, lang: str = "vi") -> bytes:
    """The map of the area: ``markers`` (with their current condition), ``works`` geometries
    joined to ``works_status`` (:func:`~bienmoc.analysis.progress.work_status`), the period's
    ``incidents``, the boundary line and the province outline. All frames in EPSG:4326."""
    pts = markers[markers.geometry.notna()]
    if len(pts):
        x0, y0, x1, y1 = pts.total_bounds
    else:
        x0, y0, x1, y1 = boundary.total_bounds
    pad = max(x1 - x0, y1 - y0) * 0.08 + 0.02
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    aspect = 1 / max(math.cos(math.radians((y0 + y1) / 2)), 0.1)
    # the figure's height follows the area's shape (a long east-west section is short)
    height = min(max(4.2 * (y1 - y0) * aspect / (x1 - x0) + 0.9, 3.2), 7.5)
    fig, ax = plt.subplots(figsize=(7.0, height), layout="constrained")
    if provinces is not None and len(provinces):
        others = provinces.cx[x0:x1, y0:y1]
        others.plot(ax=ax, color="#f5f5f5", edgecolor="#bbbbbb", linewidth=0.5)
        if province:
            mine = provinces[provinces["name"].fillna("").str.casefold() == province.casefold()]
            mine.plot(ax=ax, color=PROVINCE_STYLE["fillColor"], alpha=0.6,
                      edgecolor=PROVINCE_STYLE["color"], linewidth=1.0)
    if len(boundary):
        boundary.plot(ax=ax, color=BOUNDARY_COLOUR, linewidth=2.0, zorder=3)
    if len(pts):
        colours = [marker_colour(s, c) for s, c in zip(pts["construction_status"],
                                                         pts["condition"])]
        ax.scatter(pts.geometry.x, pts.geometry.y, s=9, c=colours, edgecolors="#333333",
                   linewidths=0.3, zorder=4)
    if works is not None and len(works):
        st = works_status.set_index("id")["status"]
        w = works[works.geometry.notna()]
        for status, colour in WORK_COLOURS.items():
            sel = w[w["id"].map(st) == status]
            if len(sel):
                c = sel.geometry.representative_point()
                ax.scatter(c.x, c.y, s=70, marker="s", facecolors="none", edgecolors=colour,
                           linewidths=2.0, zorder=5)
    if incidents is not None and len(incidents):
        inc = incidents[incidents.geometry.notna()]
        c = inc.geometry.representative_point()
        ax.scatter(c.x, c.y, s=30, marker="^",
                   c=[INCIDENT_COLOURS.get(s, "#000000") for s in inc["status"]],
                   edgecolors="#222222", linewidths=0.4, zorder=6)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    # degrees are not square away from the equator: the aspect keeps kilometres square
    ax.set_aspect(aspect)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(labelsize=7)
    handles = [Line2D([], [], color=BOUNDARY_COLOUR, lw=2, label=_t("boundary", lang))]
    for s in ("built", "under_construction", "planned"):
        handles.append(Line2D([], [], ls="", marker="o", color=marker_colour(s, None),
                              label=f"{_t('markers', lang)}: {label(s, lang)}"))
    for c in ("damaged", "destroyed"):
        handles.append(Line2D([], [], ls="", marker="o", color=marker_colour("built", c),
                              label=f"{_t('markers', lang)}: {label(c, lang)}"))
    from bienmoc.analysis.progress import WorkStatus

    for s, colour in WORK_COLOURS.items():
        handles.append(Line2D([], [], ls="", marker="s", mfc="none", mec=colour, mew=2,
                              label=f"{_t('works', lang)}: {label(WorkStatus(s), lang)}"))
    for s, colour in INCIDENT_COLOURS.items():
        handles.append(Line2D([], [], ls="", marker="^", color=colour,
                              label=f"{_t('incidents', lang)}: {label(s, lang)}"))
    ax.legend(handles=handles, fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)
    return _png(fig)


def monthly_chart_png(monthly: dict[str, int], *, previous: dict[str, int] | None = None,
                      lang: str = "vi") -> bytes:
    """Bars of incidents per month ('YYYY-MM' → count, from
    :func:`~bienmoc.analysis.dashboard.dashboard_figures`)."""
    months = list(monthly)
    fig, ax = plt.subplots(figsize=(7.0, 2.8), layout="constrained")
    x = np.arange(len(months))
    vals = [monthly[m] for m in months]
    ax.bar(x, vals, color=INCIDENT_COLOURS["reported"], width=0.6)
    for xi, v in zip(x, vals):
        ax.text(xi, v, str(v), ha="center", va="bottom", fontsize=7)
    labels = [f"{m[5:7]}/{m[:4]}" for m in months]
    ax.set_xticks(x, labels, rotation=45 if len(months) > 6 else 0, fontsize=7)
    ax.set_ylabel(_t("count", lang), fontsize=8)
    ax.set_xlabel(_t("month", lang), fontsize=8)
    ax.set_ylim(0, max(vals + [1]) * 1.25)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)
