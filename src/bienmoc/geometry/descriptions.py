"""Location descriptions for many features at once, built from arrays.

:func:`describe_many` gives, for whole columns, exactly the strings
:func:`bienmoc.geometry.locate.describe` gives row by row ("khu vực mốc 1088/2 – 1089, cách
mốc 1089 khoảng 320 m về phía Việt Nam, cách đường biên giới 45 m"), ~20x faster: the phrases
of :data:`bienmoc.geometry.locate._PHRASES` are joined column-wise with Arrow compute kernels
(``binary_join_element_wise``, ``if_else``), which run in C++ and release the GIL, and the
distances are formatted from integer arrays (:func:`format_distances`). Building one Python
f-string per row costs ~13 µs per point, more than locating the point.

Rounding is the same as :func:`~bienmoc.geometry.locate.format_distance`: ``f"{m:.0f}"`` is
round-half-even on the exact binary value, as ``numpy.rint``; ``round(m, -1)`` and
``f"{m / 1000:.1f}"`` are too, but scaling by 10 in floating point can move a value across a
tie, so the few values within 1e-6 of a tie are formatted by ``format_distance`` itself.
"""
from __future__ import annotations

import string

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["describe_many", "format_distances", "as_str_column"]

_TIE = 1e-6
_STR = pa.large_string()


def _join(*parts) -> pa.Array:
    """Element-wise concatenation of Arrow string arrays and literal texts."""
    return pc.binary_join_element_wise(
        *(pa.scalar(p, _STR) if isinstance(p, str) else p for p in parts), pa.scalar("", _STR))


def _as_strings(values) -> pa.Array:
    """Any column of labels (None/NaN missing) as an Arrow string array."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values if pa.types.is_large_string(values.type) else values.cast(
            _STR)
    if isinstance(values, (pd.Series, pd.api.extensions.ExtensionArray)) and \
            isinstance(getattr(values, "dtype", None), pd.StringDtype):
        return pa.array(values, type=_STR, from_pandas=True)
    arr = np.asarray(values, dtype=object)
    missing = pd.isna(arr)
    return pa.array([None if m else str(v) for v, m in zip(arr, missing)], _STR) \
        if missing.any() or not all(isinstance(v, str) for v in arr[:1000]) else \
        pa.array(arr, _STR)


def as_str_column(values: pa.Array):
    """An Arrow string array as the pandas column an object array of ``str``/``None`` becomes
    (``str`` dtype; all missing: an object column of ``None``)."""
    if values.null_count == len(values):
        return np.full(len(values), None, dtype=object)
    return pd.array(values, dtype="str")


def format_distances(m, lang: str = "vi") -> pa.Array:
    """:func:`~bienmoc.geometry.locate.format_distance` of every value of ``m`` (metres)."""
    from bienmoc.geometry.locate import format_distance

    m = np.asarray(pd.to_numeric(pd.Series(m, dtype=object) if np.asarray(m).dtype == object
                                 else m), dtype=float)
    ok = np.isfinite(m)
    mm = np.where(ok, m, 0.0)
    small = ok & (mm < 100)
    mid = ok & (mm >= 100) & (mm < 1000)
    big = ok & (mm >= 1000)
    tens = mm / 10
    km10 = (mm / 1000) * 10
    amb = (ok & (mm < 0)) | (mid & (np.abs(tens - np.floor(tens) - 0.5) < _TIE)) | \
        (big & (np.abs(km10 - np.floor(km10) - 0.5) < _TIE)) | (big & (mm > 1e15))
    metres = np.where(small, np.rint(mm), np.rint(tens) * 10)
    metres = np.where(small | mid, metres, 0).astype(np.int64)
    k = np.where(big & ~amb, np.rint(km10), 0).astype(np.int64)
    as_m = _join(pa.array(metres).cast(_STR), " m")
    as_km = _join(pa.array(k // 10).cast(_STR), "," if lang == "vi" else ".",
                  pa.array(k % 10).cast(_STR), " km")
    out = pc.if_else(pa.array(big), as_km, as_m)
    out = pc.if_else(pa.array(ok), out, pa.scalar("?", _STR))
    if amb.any():  # the rare values near a rounding tie: the row-wise formatter decides
        idx = np.flatnonzero(amb)
        out = pc.replace_with_mask(out, pa.array(amb), pa.array(
            [format_distance(float(m[i]), lang) for i in idx], _STR))
    return out


def _template(tpl: str, **cols) -> pa.Array:
    """``tpl.format(**cols)`` element-wise; ``cols`` are Arrow string arrays."""
    parts = []
    for literal, field, _, _ in string.Formatter().parse(tpl):
        if literal:
            parts.append(literal)
        if field is not None:
            parts.append(cols[field])
    return _join(*parts)


def describe_many(before, after, nearest, nearest_d, side, dist, lang: str = "vi") -> pa.Array:
    """:func:`~bienmoc.geometry.locate.describe` for whole columns (an Arrow string array).

    ``before``/``after``/``nearest``/``side`` are label columns (Arrow string arrays, or
    arrays/Series with None or NaN for missing); ``nearest_d``/``dist`` are metres."""
    from bienmoc.geometry.locate import _ADJECTIVES_EN, _PHRASES, NEIGHBOURS

    p = _PHRASES[lang]
    b, a, nm, sd = (_as_strings(v) for v in (before, after, nearest, side))
    n = len(b)
    empty = pa.scalar("", _STR)
    fill = lambda arr: pc.fill_null(arr, "")  # noqa: E731 - templates need no nulls
    one = _template(p["one"], a=fill(b))
    two = _template(p["two"], a=fill(b), b=pc.fill_null(a, "None"))  # as str.format
    same = pc.fill_null(pc.equal(b, a), False)
    where = pc.if_else(pc.is_null(b), empty, pc.if_else(same, one, two))
    near = _template(p["near"], m=fill(nm), d=format_distances(nearest_d, lang))
    where = _join(where, pc.if_else(pc.is_null(nm), empty, near))
    # side names: a handful of codes, looked up once each
    codes = pc.unique(sd).to_pylist()
    def name(code):  # noqa: E306
        if lang == "vi":
            return NEIGHBOURS.get(code, (code, code))[0]
        return _ADJECTIVES_EN.get(code, NEIGHBOURS.get(code, (code, code))[1])
    known = [c for c in codes if c]
    names = pc.take(pa.array([name(c) for c in known] or [""], _STR),
                    pc.index_in(sd, value_set=pa.array(known or [""], _STR)))
    on_side = _join(_template(p["side"], s=fill(names)),
                    _template(p["line"], d=format_distances(dist, lang)))
    no_side = pc.or_(pc.is_null(sd), pc.equal(pc.fill_null(sd, ""), ""))
    tail = pc.if_else(no_side, pa.scalar(p["on"], _STR), on_side)
    out = _join(where, tail)
    assert len(out) == n
    return out
