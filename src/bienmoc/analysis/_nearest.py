"""The nearest-segment search of :class:`~bienmoc.geometry.linear.LineIndex`, compiled.

Same grid, same candidate lists, same arithmetic and the same tie rule (the first candidate
with the least squared distance) as ``LineIndex.nearest_segment``, but one fused loop per fix
instead of numpy arrays of (fix, candidate) pairs: coverage of 10M fixes spends most of its
time here. Hand-written because no library offers "nearest of a few candidate segments per
point" as a kernel; numba (optional: ``bienmoc[fast]``) compiles it, and without numba the
numpy path of ``LineIndex.nearest_segment`` is used.
"""
from __future__ import annotations

import numpy as np

try:  # optional
    import numba
except ImportError:  # pragma: no cover - exercised only without the extra
    numba = None

__all__ = ["nearest_segment", "nearest_segment_owners", "HAVE_NUMBA"]

HAVE_NUMBA = numba is not None

if HAVE_NUMBA:
    @numba.njit(cache=True, nogil=True, inline="always")
    def _d2(px, py, s, ax, ay, dx, dy, l2):  # pragma: no cover
        # squared distance from (px, py) to segment s (its nearest point clamped to the ends)
        t = ((px - ax[s]) * dx[s] + (py - ay[s]) * dy[s]) / l2[s]
        if t < 0.0:
            t = 0.0
        elif t > 1.0:
            t = 1.0
        ex = px - (ax[s] + t * dx[s])
        ey = py - (ay[s] + t * dy[s])
        return ex * ex + ey * ey

    @numba.njit(cache=True, nogil=True)
    def _kernel(x, y, inv, ptr, cand, ax, ay, dx, dy, l2, best, best_d2):  # pragma: no cover
        for i in range(x.shape[0]):
            c = inv[i]
            bd = np.inf
            bs = -1
            for k in range(ptr[c], ptr[c + 1]):
                d2 = _d2(x[i], y[i], cand[k], ax, ay, dx, dy, l2)
                if d2 < bd:
                    bd = d2
                    bs = cand[k]
            best[i] = bs
            best_d2[i] = bd

    @numba.njit(cache=True, nogil=True)
    def _kernel_owners(x, y, inv, ptr, cand, ax, ay, dx, dy, l2, owners, best, best_d2,
                       mixed):  # pragma: no cover
        # _kernel, and the flag of SegmentGrid.nearest_segment(owners=...): candidates of
        # different groups within a relative 1e-9 of the least squared distance
        _kernel(x, y, inv, ptr, cand, ax, ay, dx, dy, l2, best, best_d2)
        for i in range(x.shape[0]):
            c = inv[i]
            limit = best_d2[i] * (1 + 1e-9) + 1e-9
            lo = np.iinfo(np.int64).max
            hi = np.iinfo(np.int64).min
            for k in range(ptr[c], ptr[c + 1]):
                s = cand[k]
                if _d2(x[i], y[i], s, ax, ay, dx, dy, l2) <= limit:
                    g = owners[s]
                    lo = min(lo, g)
                    hi = max(hi, g)
            mixed[i] = lo != hi


def _arrays(index):
    arrays = getattr(index, "_nb_arrays", None)
    if arrays is None:
        arrays = (np.ascontiguousarray(index.A[:, 0]), np.ascontiguousarray(index.A[:, 1]),
                  np.ascontiguousarray(index.D[:, 0]), np.ascontiguousarray(index.D[:, 1]),
                  np.ascontiguousarray(index.L2))
        index._nb_arrays = arrays
    return arrays


def nearest_segment_owners(index, x: np.ndarray, y: np.ndarray, owners: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``index.nearest_segment(x, y, owners=owners)``: compiled when numba is installed."""
    if not HAVE_NUMBA:
        return index.nearest_segment(x, y, owners=owners)
    x, y = np.ascontiguousarray(x, float), np.ascontiguousarray(y, float)
    inv, ptr, cand = index._ensure_cells(index._cell_ids(x, y))
    best = np.empty(len(x), np.int64)
    best_d2 = np.empty(len(x))
    mixed = np.empty(len(x), bool)
    _kernel_owners(x, y, inv, ptr, cand, *_arrays(index),
                   np.ascontiguousarray(owners, np.int64), best, best_d2, mixed)
    return best, best_d2, mixed


def nearest_segment(index, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``index.nearest_segment(x, y)``: compiled when numba is installed."""
    if not HAVE_NUMBA:
        return index.nearest_segment(x, y)
    # the cells' positions and the grid's CSR arrays they refer to (one consistent snapshot:
    # another thread may extend the grid meanwhile)
    inv, ptr, cand = index._ensure_cells(index._cell_ids(x, y))
    arrays = _arrays(index)
    best = np.empty(len(x), np.int64)
    best_d2 = np.empty(len(x))
    _kernel(np.ascontiguousarray(x), np.ascontiguousarray(y), inv, ptr, cand,
            *arrays, best, best_d2)
    return best, best_d2
