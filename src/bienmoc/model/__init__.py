"""The domain model: layer schemas, enums with their labels, marker numbers."""
from bienmoc.model.numbers import MarkerNumber, number_sort_key, parse_number, sort_numbers
from bienmoc.model.schema import IMPORTABLE, LAYERS, SCHEMAS, conform, empty_layer, label, validate

__all__ = ["MarkerNumber", "number_sort_key", "parse_number", "sort_numbers",
           "IMPORTABLE", "LAYERS", "SCHEMAS", "conform", "empty_layer", "label", "validate"]
