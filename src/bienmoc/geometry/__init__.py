"""Border geometry: CRS handling, linear referencing along the line, locating points."""
from bienmoc.geometry.crs import STORAGE_CRS, metric_crs
from bienmoc.geometry.linear import LineIndex
from bienmoc.geometry.locate import NEIGHBOURS, BorderModel, locate
from bienmoc.geometry.provinces import ProvinceIndex, province_of

__all__ = ["STORAGE_CRS", "metric_crs", "LineIndex", "NEIGHBOURS", "BorderModel", "locate",
           "ProvinceIndex", "province_of"]
