"""Pictures of terrain along the border: the profile chart (PNG, matplotlib's Agg backend) and
the profile band of the strip map (SVG, drawn as text like the rest of ``maps/strip.py``).

Matplotlib is used through ``Figure`` + ``FigureCanvasAgg`` (no pyplot: no global state, safe
in a server thread). Parts of a line are drawn separately (no line across a gap, which has no
chainage); markers are vertical ticks labelled with their numbers (labels thinned when they
would overlap)."""
from __future__ import annotations

import io
from html import escape

import numpy as np
import pandas as pd

__all__ = ["profile_png", "profile_band_svg"]

_TXT = {
    "vi": {"title": "Mặt cắt địa hình tuyến {b}, km {a} – km {z}", "x": "Lý trình (km)",
           "y": "Độ cao (m)", "nodata": "không có dữ liệu DEM", "band": "Mặt cắt (m)"},
    "en": {"title": "Terrain profile of the {b} line, km {a} – km {z}", "x": "Chainage (km)",
           "y": "Elevation (m)", "nodata": "no DEM data", "band": "Profile (m)"},
}


def profile_png(rows: pd.DataFrame, markers: pd.DataFrame, *, border: str, lang: str = "vi",
                width_px: int = 1400, height_px: int = 500, dpi: int = 100) -> bytes:
    """PNG bytes of a profile chart: ``rows`` from :func:`bienmoc.terrain.profile.profile`
    (chainage_m, elevation_m, part), ``markers`` from ``marker_elevations`` (number,
    chainage_m, elevation_m)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from bienmoc.maps.text import border_name

    T = _TXT[lang]
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    km = rows["chainage_m"].to_numpy(float) / 1000
    z = rows["elevation_m"].to_numpy(float)
    parts = rows["part"].to_numpy() if "part" in rows else np.zeros(len(rows), int)
    for p in np.unique(parts):
        sel = parts == p
        ax.plot(km[sel], z[sel], color="#7a4f1d", linewidth=1.2)
        ax.fill_between(km[sel], np.nanmin(z) if np.isfinite(z).any() else 0, z[sel],
                        color="#d9c4a5", alpha=0.6, linewidth=0)
    a, b = (km[0], km[-1]) if len(km) else (0.0, 0.0)
    ax.set_xlim(a, b if b > a else a + 1)
    ax.set_xlabel(T["x"])
    ax.set_ylabel(T["y"])
    ax.set_title(T["title"].format(b=border_name(border, lang), a=f"{a:g}", z=f"{b:.3f}"))
    ax.grid(True, color="#dddddd", linewidth=0.5)
    if not np.isfinite(z).any():
        ax.text(0.5, 0.5, T["nodata"], transform=ax.transAxes, ha="center")
    last = -np.inf
    min_gap = (b - a) / 70 if b > a else 0
    for r in markers.itertuples(index=False):
        c = r.chainage_m / 1000
        e = r.elevation_m
        if not np.isfinite(e):
            continue
        ax.plot([c, c], [e, e], marker="v", color="#c00000", markersize=5)
        if c - last >= min_gap:
            ax.annotate(str(r.number), (c, e), textcoords="offset points", xytext=(0, 8),
                        ha="center", fontsize=7, rotation=90, color="#c00000")
            last = c
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def profile_band_svg(model, border: str, lo: float, hi: float, dem, x, top: float,
                     height: float, lang: str = "vi", samples: int = 400) -> list[str]:
    """SVG elements of a profile band for the strip map: the line's elevation between
    chainages ``lo`` and ``hi`` (m), ``x(chainage)`` the strip's horizontal scale, drawn in
    [top, top + height] with the min/max elevation written at the left."""
    from bienmoc.terrain.profile import profile

    step = max((hi - lo) / samples, 1.0)
    rows = profile(model, border, dem, step=step, from_km=lo / 1000, to_km=hi / 1000)
    z = rows["elevation_m"].to_numpy(float)
    T = _TXT[lang]
    out = [f'<text x="10" y="{top + height / 2 + 4:.0f}" fill="#333">{escape(T["band"])}</text>']
    if not np.isfinite(z).any():
        out.append(f'<text x="150" y="{top + height / 2 + 4:.0f}" fill="#999">'
                   f'{escape(T["nodata"])}</text>')
        return out
    zmin, zmax = float(np.nanmin(z)), float(np.nanmax(z))
    span = max(zmax - zmin, 1.0)
    xs = x(rows["chainage_m"].to_numpy(float))
    ys = top + height - (z - zmin) / span * height
    parts = rows["part"].to_numpy()
    paths = []
    for p in np.unique(parts):   # a break at gaps between parts and at no-data samples
        sel = (parts == p)
        d, pen = [], "M"
        for xv, yv, ok in zip(xs[sel], ys[sel], np.isfinite(ys[sel])):
            if not ok:
                pen = "M"
                continue
            d.append(f"{pen}{xv:.1f} {yv:.1f}")
            pen = "L"
        if d:
            paths.append(" ".join(d))
    out.append(f'<g class="profile" data-min-m="{zmin:.1f}" data-max-m="{zmax:.1f}">'
               + "".join(f'<path d="{p}" fill="none" stroke="#7a4f1d" stroke-width="1.5"/>'
                         for p in paths)
               + f'<text x="148" y="{top + 8:.0f}" text-anchor="end" font-size="9" '
                 f'fill="#555">{zmax:.0f}</text><text x="148" y="{top + height:.0f}" '
                 f'text-anchor="end" font-size="9" fill="#555">{zmin:.0f}</text></g>')
    return out
