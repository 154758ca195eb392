"""One adapter for "a store or a mapping of frames": what every analysis accepts as ``source``.

Analyses are pure functions of GeoDataFrames; callers hand them either a store (anything with
``read(name)``) or a mapping ``{"markers": gdf, ...}`` they built themselves (notebooks, tests).
:func:`frames` turns either into a dict of the layers asked for; a mapping that lacks a layer
gives the layer's empty frame, so analyses never test for presence.
"""
from __future__ import annotations

from typing import Mapping

import geopandas as gpd

__all__ = ["frames"]


def frames(source, names) -> dict[str, gpd.GeoDataFrame]:
    """The layers ``names`` of ``source`` (a store or a mapping of frames)."""
    from bienmoc.model.schema import LAYERS, empty_layer

    if isinstance(source, Mapping):
        out = {}
        for n in names:
            if n in source and source[n] is not None:
                out[n] = source[n]
            elif n in LAYERS:
                out[n] = empty_layer(n)
        return out
    return {n: source.read(n) for n in names}
