"""Reading and writing files: GeoJSON, GeoPackage, Shapefile, CSV, XLSX."""
from bienmoc.io.files import (EXPORT_FORMATS, IMPORT_FORMATS, XY_ORDERS, export_layer,
                              format_from_path, import_layer, read_source, to_display, write_xlsx)

__all__ = ["EXPORT_FORMATS", "IMPORT_FORMATS", "XY_ORDERS", "export_layer", "format_from_path",
           "import_layer", "read_source", "to_display", "write_xlsx"]
