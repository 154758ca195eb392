"""Synthetic patrol tracks along a real border line, with known answers (tests, notebook,
benchmark).

:func:`along_line` walks a border's line over given chainage pieces at a given perpendicular
offset (positive: Vietnam's side, negative: the neighbour's), one fix every ``step_m`` metres
and ``interval_s`` seconds. The offset tapers to zero over ``taper_m`` at both ends of each
piece, so a piece's first and last fixes lie on the line at exactly its start and end
chainage: a piece that counts is covered from ``c0`` to ``c1`` (to the metre).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from pyproj import Transformer

__all__ = ["along_line", "write_gpx_by_hand"]


def along_line(index, border: str, pieces, *, patrol_id: str = "T-000001",
               kind: str = "unilateral", start: str = "2026-11-01T07:00:00+07:00",
               step_m: float = 20.0, interval_s: float = 15.0, taper_m: float = 200.0
               ) -> pd.DataFrame:
    """Fixes (``patrol_id``, ``seq``, ``time`` ISO with offset, ``lon``, ``lat``, ``kind``)
    over ``pieces`` = [(c0, c1, offset_m[, tapered]), ...] of ``border`` in ``index``'s
    LineIndex (``tapered=False``: the offset is kept to the piece's ends; the walk from one
    piece to the next takes its distance at 1 m/s)."""
    xs, ys, dts = [], [], []
    for piece in pieces:
        c0, c1, off = piece[:3]
        tapered = piece[3] if len(piece) > 3 else True
        n = max(2, int(round(abs(c1 - c0) / step_m)) + 1)
        ch = np.linspace(c0, c1, n)
        xy = index.point_at(border, ch)
        ahead = index.point_at(border, np.minimum(ch + 1.0, index.length_m[border]))
        behind = index.point_at(border, np.maximum(ch - 1.0, 0.0))
        d = ahead - behind
        nrm = np.column_stack([-d[:, 1], d[:, 0]])
        nrm /= np.hypot(nrm[:, 0], nrm[:, 1])[:, None]
        probe = index.locate_xy(xy[:, 0] + nrm[:, 0], xy[:, 1] + nrm[:, 1]).side
        sign = np.where(probe == 0, 1, probe)  # +1 when the left normal points to Vietnam
        taper = np.clip(np.minimum(np.abs(ch - c0), np.abs(c1 - ch)) / taper_m, 0, 1) \
            if taper_m > 0 and tapered else np.ones(n)
        p = xy + nrm * (off * taper * sign)[:, None]
        if xs:  # walk across a jump between pieces at 1 m/s (a plausible speed)
            jump = np.hypot(p[0, 0] - xs[-1][-1], p[0, 1] - ys[-1][-1])
            dts.append([max(interval_s, jump / 1.0)])
        dts.append(np.full(n - 1, interval_s) if not xs else np.full(n - 1, interval_s))
        xs.append(p[:, 0])
        ys.append(p[:, 1])
    x, y = np.concatenate(xs), np.concatenate(ys)
    offsets = np.concatenate([[0.0], np.concatenate(dts)])
    lon, lat = Transformer.from_crs(index.crs, "EPSG:4326", always_xy=True).transform(x, y)
    t0 = pd.Timestamp(start)
    times = [t.isoformat() for t in t0 + pd.to_timedelta(np.cumsum(offsets), "s")]
    return pd.DataFrame({"patrol_id": patrol_id, "seq": np.arange(len(x)), "time": times,
                         "lon": lon, "lat": lat, "kind": kind})


def write_gpx_by_hand(path, tracks: list[pd.DataFrame], name: str = "bienmoc") -> None:
    """A GPX 1.1 file written as a GPS unit does (one ``<trk>`` per frame, one ``<trkseg>``;
    times in UTC 'Z'): the hand-written peer of the GPX GDAL writes."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<gpx version="1.1" creator="{name}" xmlns="http://www.topografix.com/GPX/1/1">']
    for k, df in enumerate(tracks):
        out.append(f"  <trk><name>track {k + 1}</name><trkseg>")
        for lon, lat, t in zip(df["lon"], df["lat"], df["time"]):
            ts = pd.Timestamp(t).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
            out.append(f'    <trkpt lat="{lat:.8f}" lon="{lon:.8f}"><time>{ts}</time></trkpt>')
        out.append("  </trkseg></trk>")
    out.append("</gpx>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
