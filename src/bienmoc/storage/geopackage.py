"""The embedded default store: one GeoPackage file.

Writes are copy-on-write: the current file is copied with SQLite's online backup API to a
temporary file beside it, the change is written there with pyogrio, the copy is fsynced and then
renamed over the original (``os.replace`` is atomic on POSIX). Readers therefore see the old file
or the new one, never a half-written layer, and a crash leaves the old file intact. An exclusive
``flock`` on a side file serialises writers. (OGR's own overwrite mode deletes the old layer
before writing the new one, outside any transaction, which is why it is not used in place.)
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Iterator, Mapping

import geopandas as gpd
import pandas as pd
import pyogrio

from ..errors import StorageError
from ..schema import LAYERS, conform, empty_layer
from .base import WriteMode

__all__ = ["GeoPackageStore"]


class GeoPackageStore:
    """A bienmoc store in a GeoPackage file (created on first write)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).expanduser().resolve()
        self.uri = str(self.path)

    def __repr__(self) -> str:
        return f"GeoPackageStore({self.uri!r})"

    # -- reading ---------------------------------------------------------------------------
    def layers(self) -> list[str]:
        if not self.path.exists():
            return []
        try:
            return [str(name) for name, _ in pyogrio.list_layers(self.path)]
        except Exception as e:  # pyogrio raises DataSourceError and friends
            raise StorageError(f"cannot open store {self.uri}: {e}") from e

    def read(self, layer: str, *, bbox=None) -> gpd.GeoDataFrame:
        if layer not in self.layers():
            return empty_layer(layer) if layer in LAYERS else _missing(layer, self.uri)
        try:
            df = pyogrio.read_dataframe(self.path, layer=layer, bbox=bbox,
                                        use_arrow=False)
        except Exception as e:
            raise StorageError(f"cannot read layer {layer!r} from {self.uri}: {e}") from e
        return conform(layer, df) if layer in LAYERS else df

    def version(self) -> str:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return "empty"
        return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"

    # -- writing ---------------------------------------------------------------------------
    def write(self, layer: str, data: gpd.GeoDataFrame, *, mode: WriteMode = "replace") -> None:
        self.write_many({layer: data}, mode=mode)

    def write_many(self, layers: Mapping[str, gpd.GeoDataFrame], *,
                   mode: WriteMode = "replace") -> None:
        if mode not in ("replace", "append"):
            raise ValueError(f"mode must be 'replace' or 'append', not {mode!r}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock(), self._staging() as tmp:
            present = set(_layers_of(tmp))
            for name, data in layers.items():
                if mode == "append" and name in present:
                    old = conform(name, pyogrio.read_dataframe(tmp, layer=name)) \
                        if name in LAYERS else pyogrio.read_dataframe(tmp, layer=name)
                    data = pd.concat([old, data], ignore_index=True)
                    data = gpd.GeoDataFrame(data, geometry="geometry", crs=old.crs)
                _write_layer(tmp, name, data)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _staging(self) -> Iterator[Path]:
        fd, name = tempfile.mkstemp(prefix=f".{self.path.stem}-", suffix=".gpkg",
                                    dir=self.path.parent)
        os.close(fd)
        tmp = Path(name)
        try:
            if self.path.exists():
                # SQLite's backup API gives a consistent copy even while others read.
                src = sqlite3.connect(self.path)
                dst = sqlite3.connect(tmp)
                try:
                    src.backup(dst)
                finally:
                    dst.close()
                    src.close()
            else:
                tmp.unlink()
            yield tmp
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise


def _layers_of(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [str(n) for n, _ in pyogrio.list_layers(path)]


def _write_layer(path: Path, name: str, data: gpd.GeoDataFrame) -> None:
    data = data.copy()
    # pyogrio writes numpy bools as OGR booleans; a nullable pandas boolean would go out as
    # text, so flags (never null after validation: missing means False) become numpy bools.
    for col in data.columns:
        if col != data.geometry.name and str(data[col].dtype) == "boolean":
            data[col] = data[col].fillna(False).astype(bool)
    geom_type = _geometry_type(data)
    try:
        pyogrio.write_dataframe(data, path, layer=name, driver="GPKG",
                                geometry_type=geom_type, promote_to_multi=False,
                                layer_options={"OVERWRITE": "YES"})
    except Exception as e:
        raise StorageError(f"cannot write layer {name!r}: {e}") from e


def _geometry_type(data: gpd.GeoDataFrame) -> str:
    types = set(data.geometry.dropna().geom_type.unique()) if len(data) else set()
    if len(types) == 1:
        return types.pop()
    return "Unknown"


def _missing(layer: str, uri: str):
    from ..errors import NotFound

    raise NotFound(f"store {uri} has no layer {layer!r}")
