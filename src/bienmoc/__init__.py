"""bienmoc: a national land border as geometries - boundary, markers, gates, works, incidents."""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("bienmoc")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

from bienmoc.errors import BienmocError, InvalidData, NotFound, Problem, StorageError
from bienmoc.model.numbers import MarkerNumber, number_sort_key, parse_number, sort_numbers
from bienmoc.analysis.lengths import (border_belt, border_lengths, features_in_belt, hotspots,
                       incident_counts, province_lengths)
from bienmoc.io.files import export_layer, import_layer, read_source
from bienmoc.geometry.linear import LineIndex
from bienmoc.geometry.locate import BorderModel, locate
from bienmoc.analysis.qa import check_markers
from bienmoc.analysis.spacing import densify, marker_spacing
from bienmoc.model.schema import LAYERS, SCHEMAS, validate
from bienmoc.analysis.status import marker_status
from bienmoc.storage import GeoPackageStore, Store
from bienmoc.demo import open_store
from bienmoc.terrain import (Dem, elevations, hillshade_grid, intervisibility,
                             marker_elevations, open_dem, profile, propose_stakes,
                             slope_aspect, terrain_at)

__all__ = [
    "__version__",
    "BienmocError", "InvalidData", "NotFound", "Problem", "StorageError",
    "MarkerNumber", "number_sort_key", "parse_number", "sort_numbers",
    "LAYERS", "SCHEMAS", "validate",
    "export_layer", "import_layer", "read_source", "marker_status",
    "LineIndex", "BorderModel", "locate", "check_markers", "marker_spacing", "densify",
    "border_lengths", "province_lengths", "border_belt", "features_in_belt", "hotspots",
    "incident_counts",
    "GeoPackageStore", "Store", "open_store",
    "Dem", "open_dem", "elevations", "profile", "marker_elevations", "slope_aspect", "terrain_at",
    "intervisibility", "propose_stakes", "hillshade_grid",
]
