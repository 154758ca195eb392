"""Terrain along the border from a user's DEM: elevations, profiles, slope and aspect.

``dem`` opens any GDAL raster/VRT and samples it at points (windowed reads, nodata -> NaN);
``slope`` is Horn's method as gdaldem, in ground metres; ``profile`` samples a border line
every ``step`` metres of chainage; ``visibility`` tests sight lines between markers and
``viewshed`` what a post sees within a radius; ``risk`` (with ``factors``) rates landslide
exposure; ``markers`` fills and checks marker elevations; ``overlay`` and ``plot`` draw pictures.
"""
from bienmoc.terrain.dem import DEM_ENV, Dem, DemError, elevations, open_dem
from bienmoc.terrain.profile import marker_elevations, profile
from bienmoc.terrain.slope import hillshade_grid, horn, slope_aspect, slope_grid, terrain_at
from bienmoc.terrain.visibility import intervisibility, propose_stakes, sight_lines
from bienmoc.terrain.viewshed import Viewshed, viewshed
from bienmoc.terrain.risk import landslide_exposure
from bienmoc.terrain.markers import check_elevations, fill_elevations

__all__ = ["DEM_ENV", "Dem", "DemError", "open_dem", "elevations", "profile",
           "marker_elevations", "horn", "slope_aspect", "slope_grid", "terrain_at",
           "hillshade_grid", "intervisibility", "propose_stakes", "sight_lines",
           "viewshed", "Viewshed", "landslide_exposure", "fill_elevations", "check_elevations"]
