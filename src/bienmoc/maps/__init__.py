"""Folium maps of a store (or of frames): the same builders serve notebooks and the server.

``overview_map``, ``progress_map`` and ``incidents_map`` return a :class:`folium.Map` that
loads nothing from the internet: Leaflet and its plugins are embedded (``assets="inline"``,
the default) or linked from the map server (``assets="../static"``), and the base map is drawn
from the store (provinces, neighbouring countries, boundary lines) with an optional tile layer.
The data behind each map are the compact payloads of :mod:`bienmoc.maps.data`.
"""
from bienmoc.maps.data import base_data, incidents_data, progress_data
from bienmoc.maps.incidents import incidents_map
from bienmoc.maps.overview import overview_map, simplify_m
from bienmoc.maps.progress import progress_map

__all__ = ["overview_map", "progress_map", "incidents_map", "base_data", "progress_data",
           "incidents_data", "simplify_m"]
