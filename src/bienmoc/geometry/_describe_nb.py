"""The compiled description builder of :mod:`bienmoc.geometry.descriptions` (numba, the
optional ``bienmoc[fast]`` extra; importing this module without numba raises ImportError).

Hand-written because no library joins "phrase + formatted integer + phrase" per row without a
Python object per row; Arrow's ``binary_join_element_wise`` of six columns (with the integer
casts and ``if_else`` around it) costs ~1 µs a point per language, more than locating it. The
pieces, numbers and rounding are those of the Arrow path, so the text is byte for byte the same.
"""
from __future__ import annotations

import numba
import numpy as np

__all__ = ["build", "warm"]


@numba.njit(cache=True, nogil=True)
def _ndigits(v):  # pragma: no cover - compiled
    n = 1
    while v >= 10:
        v //= 10
        n += 1
    return n

@numba.njit(cache=True, nogil=True)
def _dlen(kind, v, o, ov_off):  # pragma: no cover - compiled
    if kind == 0:
        return 1                        # "?"
    if kind == 1:
        return _ndigits(v) + 2          # "320 m"
    if kind == 2:
        return _ndigits(v // 10) + 5    # "1,2 km"
    return ov_off[o + 1] - ov_off[o]

@numba.njit(cache=True, nogil=True)
def _put_int(out, pos, v):  # pragma: no cover - compiled
    n = _ndigits(v)
    for j in range(n - 1, -1, -1):
        out[pos + j] = 48 + v % 10
        v //= 10
    return pos + n

@numba.njit(cache=True, nogil=True)
def _put(out, pos, buf, off, i):  # pragma: no cover - compiled
    for j in range(off[i], off[i + 1]):
        out[pos] = buf[j]
        pos += 1
    return pos

@numba.njit(cache=True, nogil=True)
def _put_d(out, pos, kind, v, o, ov_buf, ov_off, sep):  # pragma: no cover - compiled
    if kind == 0:
        out[pos] = 63  # ?
        return pos + 1
    if kind == 1:
        pos = _put_int(out, pos, v)
        out[pos] = 32
        out[pos + 1] = 109  # " m"
        return pos + 2
    if kind == 2:
        pos = _put_int(out, pos, v // 10)
        out[pos] = sep
        out[pos + 1] = 48 + v % 10
        out[pos + 2] = 32
        out[pos + 3] = 107
        out[pos + 4] = 109  # " km"
        return pos + 5
    return _put(out, pos, ov_buf, ov_off, o)

@numba.njit(cache=True, nogil=True)
def build(inv, sides, has_m, on_line, k1, v1, o1, k2, v2, o2, ov_buf, ov_off, sep,
           h_buf, h_off, m_buf, m_off, s_buf, s_off, t_buf, t_off):  # pragma: no cover
    n = inv.shape[0]
    offsets = np.empty(n + 1, np.int64)
    offsets[0] = 0
    for i in range(n):
        t, s = inv[i], sides[i]
        size = h_off[t + 1] - h_off[t] + m_off[t + 1] - m_off[t] + \
            s_off[s + 1] - s_off[s] + t_off[s + 1] - t_off[s]
        if has_m[i]:
            size += _dlen(k1[i], v1[i], o1[i], ov_off)
        if not on_line[i]:
            size += _dlen(k2[i], v2[i], o2[i], ov_off)
        offsets[i + 1] = offsets[i] + size
    out = np.empty(offsets[n], np.uint8)
    for i in range(n):
        t, s = inv[i], sides[i]
        pos = _put(out, offsets[i], h_buf, h_off, t)
        if has_m[i]:
            pos = _put_d(out, pos, k1[i], v1[i], o1[i], ov_buf, ov_off, sep)
        pos = _put(out, pos, m_buf, m_off, t)
        pos = _put(out, pos, s_buf, s_off, s)
        if not on_line[i]:
            pos = _put_d(out, pos, k2[i], v2[i], o2[i], ov_buf, ov_off, sep)
        pos = _put(out, pos, t_buf, t_off, s)
    return offsets, out


def warm() -> None:
    """Load the cached machine code now (~0.3 s; e.g. in a thread while a file is read)."""
    i64 = np.zeros(1, np.int64)
    off = np.zeros(2, np.int64)
    buf = np.frombuffer(b"\0", np.uint8)  # read-only, as the real pieces: same signature
    build(i64, i64, np.ones(1, bool), np.zeros(1, bool), np.ones(1, np.int8), i64, i64 - 1,
          np.ones(1, np.int8), i64, i64 - 1, buf, off, 44, buf, off, buf, off, buf, off, buf, off)
