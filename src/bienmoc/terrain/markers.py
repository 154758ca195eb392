"""Marker elevations against the DEM: fill the missing ones (an explicit, logged write through
the records layer) and flag recorded ones that disagree with the DEM.

Each marker part is sampled at its own registered position (bilinear by default). A recorded
elevation is never overwritten: a disagreement is a QA finding for a surveyor to resolve,
since either may be wrong (SRTM/GLO-30 heights have errors of several metres, more on steep
slopes and under forest; a typing error in the register is also common).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from bienmoc.terrain.dem import _as_dem, point_xy

__all__ = ["marker_dem_elevations", "fill_elevations", "check_elevations",
           "DEFAULT_ELEVATION_TOLERANCE_M"]

#: Recorded elevations farther than this from the DEM's are flagged.
DEFAULT_ELEVATION_TOLERANCE_M = 30.0

COLUMNS = ["id", "border", "number", "lon", "lat", "recorded_m", "dem_m", "diff_m"]


def marker_dem_elevations(source, dem=None, *, border: str | None = None,
                          method: str = "bilinear") -> pd.DataFrame:
    """One row per marker (part): ``id, border, number, lon, lat, recorded_m`` (NaN when
    none), ``dem_m`` (NaN where the DEM has no data) and ``diff_m = recorded - dem``."""
    from bienmoc.model.source import frames

    m = frames(source, ("markers",))["markers"]
    if border is not None:
        m = m[m["border"] == border]
    m = m[m.geometry.notna() & ~m.geometry.is_empty]
    if not len(m):
        return pd.DataFrame(columns=COLUMNS)
    d, opened = _as_dem(dem)
    try:
        x, y, crs = point_xy(m)
        z = d.sample(x, y, crs=crs, method=method)
    finally:
        if opened:
            d.close()
    ll = m.geometry.to_crs(4326)
    rec = pd.to_numeric(m["elevation_m"], errors="coerce").to_numpy(dtype=float)
    return pd.DataFrame({"id": m["id"].to_numpy(), "border": m["border"].to_numpy(),
                         "number": m["number"].to_numpy(), "lon": ll.x.to_numpy(),
                         "lat": ll.y.to_numpy(), "recorded_m": rec, "dem_m": z,
                         "diff_m": rec - z}, columns=COLUMNS)


def fill_elevations(store, dem=None, *, border: str | None = None, method: str = "bilinear",
                    dry_run: bool = False, user: str | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill the missing ``elevation_m`` of markers from the DEM, through
    :func:`bienmoc.records.recording.fill_marker_elevations` (one transaction, every change in
    the ``marker_changes`` log, noted with the DEM's path). Returns (filled, skipped): the
    markers written (``id, border, number, elevation_m``; with ``dry_run`` those that would
    be, nothing written) and those without a recorded elevation the DEM has no data for."""
    from bienmoc.records.recording import fill_marker_elevations

    d, opened = _as_dem(dem)
    try:
        rows = marker_dem_elevations(store, d, border=border, method=method)
        path = d.path
    finally:
        if opened:
            d.close()
    missing = rows[rows["recorded_m"].isna()]
    skipped = missing[missing["dem_m"].isna()][["id", "border", "number"]]
    todo = missing[missing["dem_m"].notna()]
    values = dict(zip(todo["id"], todo["dem_m"].round(2)))
    if dry_run:
        filled = todo[["id", "border", "number"]].assign(elevation_m=todo["dem_m"].round(2))
        return filled.reset_index(drop=True), skipped.reset_index(drop=True)
    filled = fill_marker_elevations(store, values, note=f"DEM {path}", user=user)
    return filled, skipped.reset_index(drop=True)


def check_elevations(source, dem=None, *, border: str | None = None,
                     tolerance_m: float = DEFAULT_ELEVATION_TOLERANCE_M,
                     method: str = "bilinear") -> pd.DataFrame:
    """QA findings (:data:`bienmoc.analysis.qa.QA_COLUMNS`) of check ``elevation_vs_dem``
    (warning): markers whose recorded elevation differs from the DEM's by more than
    ``tolerance_m``; ``value`` is recorded - DEM (m)."""
    from bienmoc.analysis.qa import QA_COLUMNS

    from bienmoc.fmt import fmt_number

    def vi(x, digits=None, sign=False):  # 3.785,7 (bienmoc.fmt), '+' kept as in the English
        return ("+" if sign and x >= 0 else "") + fmt_number(x, "vi", digits)

    rows = marker_dem_elevations(source, dem, border=border, method=method)
    bad = rows[np.abs(rows["diff_m"]) > tolerance_m]
    out = [("warning", "elevation_vs_dem", r.border, r.number, round(float(r.diff_m), 1),
            f"mốc {r.number}: độ cao ghi nhận {vi(float(f'{r.recorded_m:g}'))} m, DEM cho "
            f"{vi(r.dem_m, 1)} m (lệch {vi(r.diff_m, 1, True)} m, quá "
            f"{vi(float(f'{tolerance_m:g}'))} m)",
            f"marker {r.number}: recorded elevation {r.recorded_m:g} m, the DEM gives "
            f"{r.dem_m:.1f} m ({r.diff_m:+.1f} m, beyond {tolerance_m:g} m)")
           for r in bad.itertuples(index=False)]
    return pd.DataFrame(out, columns=QA_COLUMNS)
