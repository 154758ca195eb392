"""Moving a store: :func:`copy_store` (GeoPackage <-> PostGIS), verified layer by layer.

Every layer of the source (bienmoc's layers and the change log) is written to the target in one
transaction, replacing what the target held: ids, the append-only history (inspections, work
progress, resurveys, the change log) and the counters of generated ids (so the next incident
gets the number it would have got in the source) come along. The target's version token
changes with the copy, like any write, and keeps changing with every later write.
:func:`compare_stores` then reads both and compares each layer's frame (values, dtypes, CRS).
"""
from __future__ import annotations

import pandas as pd

from bienmoc.storage.base import Store

__all__ = ["copy_store", "compare_stores"]


def _sequences(store) -> dict[str, int]:
    from bienmoc.storage import sqlite as sq
    from bienmoc.storage.geopackage import GeoPackageStore
    from bienmoc.storage.postgis import PostGISStore

    if isinstance(store, GeoPackageStore):
        with store._reader() as con:
            if con is None or not sq.has_table(con, sq.SEQUENCES):
                return {}
            return {str(k): int(v) for k, v in con.execute(
                f"SELECT layer, last FROM {sq.SEQUENCES}")}
    if isinstance(store, PostGISStore):
        with store._reader() as con:
            if not store._exists(con):
                return {}
            return {str(k): int(v) for k, v in con.execute(
                f"SELECT layer, last FROM {store._t('bienmoc_sequences')}")}
    return {}


def _set_sequences(tx, seqs: dict[str, int]) -> None:
    from bienmoc.storage import sqlite as sq
    from bienmoc.storage.postgis import _Transaction as PgTx

    if isinstance(tx, PgTx):
        t = tx.store._t("bienmoc_sequences")
        tx.con.execute(f"DELETE FROM {t}")
        with tx.con.cursor() as cur:
            cur.executemany(f"INSERT INTO {t} VALUES (%s, %s)", list(seqs.items()))
    elif hasattr(tx, "con"):  # the GeoPackage transaction
        tx.con.execute(f"DELETE FROM {sq.SEQUENCES}")
        tx.con.executemany(f"INSERT INTO {sq.SEQUENCES} VALUES (?, ?)", list(seqs.items()))


def copy_store(src: Store, dst: Store) -> dict[str, int]:
    """Copy every layer of ``src`` into ``dst`` (replacing it there) in one transaction;
    {layer: rows}."""
    names = src.layers()
    frames = {name: src.read(name) for name in names}
    seqs = _sequences(src)
    with dst.transaction() as tx:
        for name, frame in frames.items():
            tx.replace(name, frame)
        _set_sequences(tx, seqs)
    return {name: len(f) for name, f in frames.items()}


def compare_stores(a: Store, b: Store) -> dict[str, str | None]:
    """{layer: None when equal in both stores, else what differs}."""
    from geopandas.testing import assert_geodataframe_equal

    out: dict[str, str | None] = {}
    for name in sorted(set(a.layers()) | set(b.layers())):
        if name not in a.layers() or name not in b.layers():
            out[name] = "missing in " + ("the source" if name not in a.layers() else
                                         "the target")
            continue
        x, y = a.read(name), b.read(name)
        try:
            if hasattr(x, "geometry") and "geometry" in getattr(x, "columns", []):
                assert_geodataframe_equal(x, y, check_less_precise=False)
            else:
                pd.testing.assert_frame_equal(pd.DataFrame(x), pd.DataFrame(y))
            out[name] = None
        except AssertionError as e:
            out[name] = str(e).strip().splitlines()[0][:300]
    if _sequences(a) != _sequences(b):
        out["(id counters)"] = f"{_sequences(a)} != {_sequences(b)}"
    return out
