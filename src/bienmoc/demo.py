"""The demo dataset: find it, and seed the per-user demo store from it.

The demo sources are the GeoJSON files under ``data/markers/`` of the source tree (shipped in
the wheel as ``bienmoc/_demo``). They are read, never written: the demo *store* is a copy in the
user's data folder, built on first use.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from bienmoc.errors import StorageError

__all__ = ["demo_dir", "open_demo_store", "open_store", "default_store_path", "seed_store", "demo_fingerprint", "DEMO_LAYERS"]

log = logging.getLogger(__name__)

#: bumped when :func:`seed_store` derives something new (stores seeded before are reseeded)
SEED_VERSION = "2: incidents located on the line"

DEMO_LAYERS = ("boundary", "provinces", "markers", "gates", "works", "work_progress",
               "inspections", "resurveys", "incidents", "line_sections")


def demo_dir() -> Path:
    """The folder holding the demo GeoJSON files."""
    here = Path(__file__).resolve().parent
    for cand in (here / "_demo", here.parent.parent / "data" / "markers"):
        if (cand / "markers.geojson").exists():
            return cand
    raise StorageError("demo dataset not found (expected data/markers/ in the source tree or "
                       "bienmoc/_demo in the installed package)")


def seed_store(store, source: Path | None = None) -> None:
    """Validate every demo layer and write them all to ``store`` in one atomic step."""
    import pyogrio

    from bienmoc.io.files import read_source
    from bienmoc.model.schema import empty_layer, validate

    source = source or demo_dir()
    layers = {}
    for kind in DEMO_LAYERS:
        path = source / f"{kind}.geojson"
        if not path.exists():
            continue
        if pyogrio.read_info(path)["features"] == 0:
            layers[kind] = empty_layer(kind)
            continue
        raw, rows = read_source(path)
        borders = set(layers["boundary"]["border"]) if "boundary" in layers else None
        layers[kind] = validate(kind, raw, rows=rows, borders=borders, what=str(path))
    if len(layers.get("incidents", ())):
        # what the write path derives for every incident (where it is on the line)
        from bienmoc.records.recording import _fill_incident_place

        frames = type("Frames", (), {"read": lambda self, name: layers.get(
            name, empty_layer(name))})()
        layers["incidents"] = validate("incidents", _fill_incident_place(
            frames, layers["incidents"]), what="incidents")
    store.write_many(layers, mode="replace")


def demo_fingerprint(source: Path | None = None) -> str:
    """sha256 over the demo files: changes when a new bienmoc ships new demo data."""
    source = source or demo_dir()
    h = hashlib.sha256(SEED_VERSION.encode())
    for kind in DEMO_LAYERS:
        path = source / f"{kind}.geojson"
        if path.exists():
            h.update(kind.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def default_store_path() -> Path:
    """Where the demo store lives when no store is named: a per-user data folder."""
    import platformdirs

    return Path(platformdirs.user_data_dir("bienmoc", appauthor=False)) / "demo.gpkg"


def open_store(uri=None):
    """The store named by ``uri`` or ``$BIENMOC_STORE``, else the seeded per-user demo store.

    This is the default of the CLI, the app and notebooks (``bienmoc.open_store``); the storage
    package itself (:func:`bienmoc.storage.open_store`) never falls back to the demo.
    """
    from bienmoc.storage import STORE_ENV
    from bienmoc.storage import open_store as _open

    if uri is None and not os.environ.get(STORE_ENV):
        return open_demo_store()
    return _open(uri)


def open_demo_store():
    """Open the per-user demo store, seeding it from the demo dataset the first time.

    When the installed demo dataset changes (a new bienmoc version), the old demo store is
    kept as ``demo-<fingerprint>.gpkg.bak`` beside it and a fresh one is seeded.
    """
    from bienmoc.storage import GeoPackageStore

    path = default_store_path()
    stamp = path.with_name(path.name + ".source")
    fingerprint = demo_fingerprint()
    store = GeoPackageStore(path)
    if path.exists():
        old = stamp.read_text().strip() if stamp.exists() else ""
        if old == fingerprint:
            return store
        backup = path.with_name(f"demo-{old[:12] or 'unknown'}.gpkg.bak")
        log.warning("demo dataset changed: keeping the old demo store as %s", backup)
        os.replace(path, backup)
    log.info("seeding the demo store %s from %s", path, demo_dir())
    seed_store(store)
    stamp.write_text(fingerprint + "\n")
    return store
