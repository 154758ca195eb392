"""Folium maps of a store (or of frames): the same builders serve notebooks and the server."""
from .overview import overview_map

__all__ = ["overview_map"]
