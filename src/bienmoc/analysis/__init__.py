"""Analyses over the layers: lengths and belts, hotspots, marker QA and spacing, status,
works progress, inspections. Pure functions of GeoDataFrames (or a store to read them from)."""
from bienmoc.analysis.lengths import (border_belt, border_lengths, features_in_belt, hotspots,
                                      incident_counts, province_lengths)
from bienmoc.analysis.qa import check_markers
from bienmoc.analysis.spacing import densify, marker_spacing
from bienmoc.analysis.status import marker_status
from bienmoc.analysis.progress import progress_summary, stalled_works, work_status
from bienmoc.analysis.inspections import (displaced_markers, displacement, inspections_due,
                                          marker_history)

__all__ = ["border_belt", "border_lengths", "features_in_belt", "hotspots", "incident_counts",
           "province_lengths", "check_markers", "densify", "marker_spacing", "marker_status",
           "progress_summary", "stalled_works", "work_status", "displaced_markers",
           "displacement", "inspections_due", "marker_history"]
