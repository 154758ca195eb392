"""Record versions for optimistic concurrency: an entity tag computed from a record's content.

An ETag is the SHA-256 (first 128 bits, hex) of the record's canonical content: every schema
field of its layer in schema order (missing values as null, dates as ISO text, numbers as
floats) and its geometry as WKB. It depends on nothing a store keeps apart (no version column,
no timestamps), so every backend (GeoPackage, PostGIS, a store of plain frames) gives the same
tag for the same record, and readers (the API's cached layers) and writers (a transaction's
frame) agree without sharing state. Any change of a field or of the position changes the tag.

:func:`bienmoc.records.update_incident` takes ``if_match``: the tag the caller last saw; the
comparison happens inside the write transaction, after reading the record there, so two
writers holding the same copy cannot both win (the second gets :class:`StaleRecord`).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
import shapely

from bienmoc.errors import BienmocError
from bienmoc.model.schema import SCHEMAS

__all__ = ["record_etag", "frame_etags", "StaleRecord", "etag_matches"]


class StaleRecord(BienmocError):
    """The record changed since the caller read it (its ETag is no longer the one given)."""

    def __init__(self, record_id: str, current: str):
        self.record_id, self.current = record_id, current
        super().__init__(f"record {record_id} changed since it was read (its ETag is now "
                         f"{quote(current)}): read it again and retry")


def quote(tag: str) -> str:
    """The HTTP form of a tag: in double quotes (a strong validator)."""
    return f'"{tag}"'


def _canon(v):
    """A JSON-ready canonical form of one stored value (the same from any backend)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
        return None if np.isnan(f) else f
    if isinstance(v, (pd.Timestamp, np.datetime64, _dt.date)):
        t = pd.Timestamp(v)
        return None if pd.isna(t) else t.isoformat()
    return str(v)


def record_etag(kind: str, values: Mapping, geometry=None) -> str:
    """The ETag (without quotes) of one record of layer ``kind``: ``values`` maps field names
    to stored values (missing fields count as null), ``geometry`` a shapely geometry or None."""
    parts = [_canon(values.get(f.name)) for f in SCHEMAS[kind].fields]
    g = None if geometry is None or shapely.is_missing(geometry) else \
        shapely.to_wkb(geometry, hex=True, output_dimension=2, byte_order=1)
    text = json.dumps([parts, g], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def frame_etags(kind: str, frame: pd.DataFrame) -> list[str]:
    """:func:`record_etag` of every row of a layer frame (canonical dtypes, as read)."""
    cols = {f.name: frame[f.name].tolist() if f.name in frame else [None] * len(frame)
            for f in SCHEMAS[kind].fields}
    geoms = (list(frame.geometry.values) if hasattr(frame, "geometry")
             and frame.geometry.name in frame else [None] * len(frame))
    return [record_etag(kind, {k: c[i] for k, c in cols.items()}, geoms[i])
            for i in range(len(frame))]


def etag_matches(if_match: Iterable[str] | str, current: str) -> bool:
    """Whether an ``If-Match`` value (header text or parsed tags) admits ``current``: ``*``,
    or one strong tag equal to it (weak ``W/`` tags never match, RFC 9110 §13.1.1)."""
    if isinstance(if_match, str):
        if_match = [t.strip() for t in if_match.split(",")]
    for t in if_match:
        t = t.strip()
        if t == "*":
            return True
        if t.startswith("W/"):
            continue
        if t.strip('"') == current:
            return True
    return False
