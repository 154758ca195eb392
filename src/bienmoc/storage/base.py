"""The storage contract every backend implements.

Stores trade only GeoDataFrames (canonical dtypes, EPSG:4326) and layer names; they know
nothing of validation, which the domain core does before calling :meth:`Store.write`.
"""
from __future__ import annotations

from typing import Literal, Mapping, Protocol, runtime_checkable

import geopandas as gpd

__all__ = ["Store", "WriteMode"]

WriteMode = Literal["replace", "append"]


@runtime_checkable
class Store(Protocol):
    """A place that holds bienmoc's layers.

    Implementations must make :meth:`write` and :meth:`write_many` atomic: after an error (or a
    crash) readers see either all of the change or none of it, and once they return the change
    is durable.
    """

    uri: str

    def layers(self) -> list[str]:
        """Names of the layers present (possibly empty)."""
        ...

    def read(self, layer: str, *, bbox: tuple[float, float, float, float] | None = None
             ) -> gpd.GeoDataFrame:
        """The layer as a GeoDataFrame with canonical dtypes; empty if absent."""
        ...

    def write(self, layer: str, data: gpd.GeoDataFrame, *, mode: WriteMode = "replace") -> None:
        """Replace the layer with ``data`` or append ``data`` to it, atomically."""
        ...

    def write_many(self, layers: Mapping[str, gpd.GeoDataFrame], *,
                   mode: WriteMode = "replace") -> None:
        """Write several layers in one atomic step."""
        ...

    def version(self) -> str:
        """An opaque token that changes whenever any layer changes (for caches)."""
        ...
