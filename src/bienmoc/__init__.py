"""bienmoc: a national land border as geometries - boundary, markers, gates, works, incidents."""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("bienmoc")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

from .errors import BienmocError, InvalidData, NotFound, Problem, StorageError
from .numbers import MarkerNumber, number_sort_key, parse_number, sort_numbers
from .io import export_layer, import_layer, read_source
from .schema import LAYERS, SCHEMAS, validate
from .status import marker_status
from .storage import GeoPackageStore, Store, open_store

__all__ = [
    "__version__",
    "BienmocError", "InvalidData", "NotFound", "Problem", "StorageError",
    "MarkerNumber", "number_sort_key", "parse_number", "sort_numbers",
    "LAYERS", "SCHEMAS", "validate",
    "export_layer", "import_layer", "read_source", "marker_status",
    "GeoPackageStore", "Store", "open_store",
]
