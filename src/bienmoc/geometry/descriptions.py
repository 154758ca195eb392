"""Location descriptions for many features at once, built from arrays.

:func:`describe_many` gives, for whole columns, exactly the strings
:func:`bienmoc.geometry.locate.describe` gives row by row ("khu vực mốc 1088/2 – 1089, cách
mốc 1089 khoảng 320 m về phía Việt Nam, cách đường biên giới 45 m"), without a Python string
operation per row (one f-string per row cost ~13 µs a point, more than locating it): the text
around the two distances depends only on the marker triple (before, after, nearest) and on the
side, so it is written once per distinct triple/side by the phrases of ``describe``; the
distances are formatted from integer arrays (:func:`format_distances`) and the pieces joined
with Arrow compute kernels (``take``, ``binary_join_element_wise``), which release the GIL. From
:data:`COMPILED_MIN` rows on, with numba installed (``bienmoc[fast]``), the same pieces and
integers are written straight into one Arrow string buffer per language by a compiled loop
(:mod:`bienmoc.geometry._describe_nb`, ~4x cheaper); the bytes are the same.

Rounding is the same as :func:`~bienmoc.geometry.locate.format_distance`: ``f"{m:.0f}"`` is
round-half-even on the exact binary value, as ``numpy.rint``; ``round(m, -1)`` and
``f"{m / 1000:.1f}"`` are too, but scaling by 10 in floating point can move a value across a
tie, so the few values within 1e-6 of a tie are formatted by ``format_distance`` itself.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["describe_many", "describe_both", "format_distances", "as_str_column"]

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

    kind, value, amb, m = _distance_codes(m)
    big = kind == 2
    as_m = _join(pa.array(np.where(kind == 1, value, 0)).cast(_STR), " m")
    k = np.where(big, value, 0)
    as_km = _join(pa.array(k // 10).cast(_STR), "," if lang == "vi" else ".",
                  pa.array(k % 10).cast(_STR), " km")
    out = pc.if_else(pa.array(big), as_km, as_m)
    out = pc.if_else(pa.array(kind != 0), out, pa.scalar("?", _STR))
    if len(amb):  # the rare values near a rounding tie: the row-wise formatter decides
        out = pc.replace_with_mask(out, pa.array(kind == 3), pa.array(
            [format_distance(float(m[i]), lang) for i in amb], _STR))
    return out


def _codes(labels: pa.Array) -> tuple[np.ndarray, list]:
    """Integer codes of a label column (-1 missing) and the distinct labels."""
    enc = pc.dictionary_encode(labels)
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, enc.dictionary.to_pylist()


def _side_name(code: str, lang: str) -> str:
    from bienmoc.geometry.locate import _ADJECTIVES_EN, NEIGHBOURS

    if lang == "vi":
        return NEIGHBOURS.get(code, (code, code))[0]
    return _ADJECTIVES_EN.get(code, NEIGHBOURS.get(code, (code, code))[1])


def describe_many(before, after, nearest, nearest_d, side, dist, lang: str = "vi") -> pa.Array:
    """:func:`~bienmoc.geometry.locate.describe` for whole columns (an Arrow string array).

    ``before``/``after``/``nearest``/``side`` are label columns (Arrow string arrays, or
    arrays/Series with None or NaN for missing); ``nearest_d``/``dist`` are metres.

    A description is ``head + d1 + mid + side_head + d2`` where the texts around the two
    distances depend only on the marker triple (before, after, nearest) or on the side: those
    are written once per distinct triple/side by the very phrases of ``describe`` (a few
    thousand), then taken per row; the distances are formatted column-wise.
    """
    return describe_both(before, after, nearest, nearest_d, side, dist, (lang,))[lang]


def describe_both(before, after, nearest, nearest_d, side, dist,
                  langs=("vi", "en")) -> dict[str, pa.Array]:
    """:func:`describe_many` in several languages, sharing the work common to them."""
    from bienmoc.geometry.locate import _PHRASES

    cols = [_as_strings(v) for v in (before, after, nearest, side)]
    (cb, lb), (ca, la), (cm, lm), (cs, ls) = (_codes(c) for c in cols)
    # one code per distinct (before, after, nearest) triple
    key = ((cb + 1) * (len(la) + 1) + (ca + 1)) * (len(lm) + 1) + (cm + 1)
    triples, inv = np.unique(key, return_inverse=True)
    tm = triples % (len(lm) + 1) - 1
    ta = (triples // (len(lm) + 1)) % (len(la) + 1) - 1
    tb = triples // ((len(lm) + 1) * (len(la) + 1)) - 1
    sides = np.where(cs >= 0, cs, len(ls))  # missing side: code -1 -> last
    on_line = np.array([not v for v in ls] + [True])[sides]
    has_m = cm >= 0
    tables = {}
    for lang in langs:
        p = _PHRASES[lang]
        near_pre, near_post = p["near"].split("{d}")
        line_pre, line_post = p["line"].split("{d}")
        heads, mids = [], []
        for b, a, m in zip(tb, ta, tm):
            bv, av = (lb[b] if b >= 0 else None), (la[a] if a >= 0 else None)
            if bv is None:
                where = ""
            elif bv == av:
                where = p["one"].format(a=bv)
            else:
                where = p["two"].format(a=bv, b=av)
            if m >= 0:
                heads.append(where + near_pre.format(m=lm[m]))
                mids.append(near_post.format(m=lm[m]))
            else:
                heads.append(where)
                mids.append("")
        side_heads = [p["side"].format(s=_side_name(v, lang)) + line_pre if v else p["on"]
                      for v in ls] + [p["on"]]
        side_tails = [line_post if v else "" for v in ls] + [""]
        tables[lang] = (heads, mids, side_heads, side_tails)
    if len(inv) >= COMPILED_MIN and _compiled() is not None:
        return _describe_compiled(inv, sides, has_m, on_line, nearest_d, dist, tables)
    out = {}
    for lang, (heads, mids, side_heads, side_tails) in tables.items():
        d1, d2 = format_distances(nearest_d, lang), format_distances(dist, lang)
        inv_a = pa.array(inv)
        sides_a = pa.array(sides)
        empty = pa.scalar("", _STR)
        out[lang] = _join(pc.take(pa.array(heads, _STR), inv_a),
                          pc.if_else(pa.array(has_m), d1, empty),
                          pc.take(pa.array(mids, _STR), inv_a),
                          pc.take(pa.array(side_heads, _STR), sides_a),
                          pc.if_else(pa.array(on_line), empty, d2),
                          pc.take(pa.array(side_tails, _STR), sides_a))
    return out


# -- compiled: the description bytes written straight into one Arrow buffer (see
# bienmoc.geometry._describe_nb; the Arrow path above is kept for installs without numba)

#: From this many rows on, descriptions go through the compiled builder when numba is
#: installed (below, the Arrow path: loading numba and its cached code costs ~0.5 s CPU).
COMPILED_MIN = 50_000


def _compiled():
    """The compiled builder module (:mod:`bienmoc.geometry._describe_nb`), None without numba
    (or with ``BIENMOC_NO_NUMBA`` set)."""
    if os.environ.get("BIENMOC_NO_NUMBA", ""):
        return None
    try:
        from bienmoc.geometry import _describe_nb
    except ImportError:  # pragma: no cover - exercised only without the bienmoc[fast] extra
        return None
    return _describe_nb


def _distance_codes(m) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per value of ``m`` (metres): a kind (0 "?", 1 whole metres, 2 tenths of km, 3 text
    given by :func:`~bienmoc.geometry.locate.format_distance` itself), the integer to write,
    the rows of kind 3 and ``m`` as floats. The rounding of :func:`format_distances`."""
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
        (big & (np.abs(km10 - np.floor(km10) - 0.5) < _TIE)) | (big & (np.rint(km10) >= 1e4))
    # (from 1,000 km on the text has a thousands separator: the row-wise formatter writes it)
    value = np.where(small, np.rint(mm), np.rint(tens) * 10)
    value = np.where(big, np.rint(km10), np.where(small | mid, value, 0)).astype(np.int64)
    kind = np.where(big, 2, 1).astype(np.int8)
    kind[~ok] = 0
    kind[amb] = 3
    return kind, value, np.flatnonzero(amb), m


def _pieces(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as one UTF-8 byte buffer and their offsets into it."""
    enc = [t.encode("utf-8") for t in texts]
    off = np.zeros(len(enc) + 1, np.int64)
    off[1:] = np.cumsum([len(e) for e in enc])
    return np.frombuffer(b"".join(enc) or b"\0", np.uint8), off


def _describe_compiled(inv, sides, has_m, on_line, nearest_d, dist, tables) -> dict:
    from bienmoc.geometry.locate import format_distance

    k1, v1, amb1, m1 = _distance_codes(nearest_d)
    k2, v2, amb2, m2 = _distance_codes(dist)
    out = {}
    for lang, (heads, mids, side_heads, side_tails) in tables.items():
        # the rare values near a rounding tie: the row-wise formatter's text, by index
        o1 = np.full(len(k1), -1, np.int64)
        o1[amb1] = np.arange(len(amb1))
        o2 = np.full(len(k2), -1, np.int64)
        o2[amb2] = np.arange(len(amb2)) + len(amb1)
        over = [format_distance(float(m1[i]), lang) for i in amb1] + \
            [format_distance(float(m2[i]), lang) for i in amb2]
        args = (np.ascontiguousarray(inv, np.int64), np.ascontiguousarray(sides, np.int64),
                np.ascontiguousarray(has_m), np.ascontiguousarray(on_line),
                k1, v1, o1, k2, v2, o2, *_pieces(over), ord("," if lang == "vi" else "."),
                *_pieces(heads), *_pieces(mids), *_pieces(side_heads), *_pieces(side_tails))
        offsets, data = _compiled().build(*args)
        out[lang] = pa.LargeStringArray.from_buffers(len(inv), pa.py_buffer(offsets),
                                                     pa.py_buffer(data))
    return out
