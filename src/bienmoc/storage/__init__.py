"""Stores: one contract (:class:`Store`), an embedded GeoPackage default, chosen by URI.

``open_store("border.gpkg")`` opens (or, on first write, creates) a GeoPackage store.
Other backends register a URL scheme in :data:`BACKENDS` or through the ``bienmoc.stores``
entry-point group (``postgresql = "mypkg.store:PostGISStore"``), as the PostGIS store
(:mod:`bienmoc.storage.postgis`, ``postgresql://``) does.
"""
from __future__ import annotations

import os
from importlib.metadata import entry_points
from typing import Callable

from bienmoc.errors import StorageError
from bienmoc.storage.base import Store, WriteMode
from bienmoc.storage.geopackage import GeoPackageStore

__all__ = ["Store", "WriteMode", "GeoPackageStore", "open_store", "BACKENDS",
           "STORE_ENV"]

#: Environment variable naming the store when no ``--store``/argument is given.
STORE_ENV = "BIENMOC_STORE"

#: URL scheme -> factory(uri) -> Store
BACKENDS: dict[str, Callable[[str], Store]] = {
    "gpkg": lambda uri: GeoPackageStore(uri.split("://", 1)[1]),
    "file": lambda uri: GeoPackageStore(uri.split("://", 1)[1]),
    "postgresql": lambda uri: _postgis(uri),
    "postgres": lambda uri: _postgis(uri),
}


def _postgis(uri: str) -> Store:
    from bienmoc.storage.postgis import PostGISStore  # psycopg is imported lazily there

    return PostGISStore(uri)


def _backend_for(scheme: str) -> Callable[[str], Store] | None:
    if scheme in BACKENDS:
        return BACKENDS[scheme]
    for ep in entry_points(group="bienmoc.stores"):
        if ep.name == scheme:
            return ep.load()
    return None


def open_store(uri: str | os.PathLike | Store | None = None) -> Store:
    """Open the store named by ``uri`` or ``$BIENMOC_STORE``.

    A plain path (``border.gpkg``) or ``gpkg://path`` is a GeoPackage; other schemes go to a
    registered backend. Storage knows nothing of the demo: the fallback to the per-user demo
    store is :func:`bienmoc.demo.open_store`'s (the CLI's, the app's and notebooks' default).
    """
    if uri is not None and not isinstance(uri, (str, os.PathLike)):
        return uri  # already a store
    if uri is None:
        uri = os.environ.get(STORE_ENV) or None
    if uri is None:
        raise StorageError(f"no store named (give a path or URL, or set {STORE_ENV})")
    text = os.fspath(uri)
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
        factory = _backend_for(scheme)
        if factory is None:
            known = ", ".join(sorted(BACKENDS))
            raise StorageError(f"no store backend for {scheme}:// (known: {known}, or a "
                               ".gpkg path)")
        return factory(text)
    return GeoPackageStore(text)
