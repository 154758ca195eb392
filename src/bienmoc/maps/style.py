"""Colours and labels shared by every map."""
from __future__ import annotations

#: Marker colour by construction status, overridden by a condition that needs action.
STATUS_COLOURS = {"built": "#1a9641", "under_construction": "#2b83ba", "planned": "#9e9e9e"}
CONDITION_COLOURS = {"damaged": "#fdae61", "displaced": "#f46d43", "destroyed": "#d7191c",
                     "missing": "#7b3294"}
BOUNDARY_COLOUR = "#c51b7d"
GATE_COLOUR = "#000000"
PROVINCE_STYLE = {"color": "#666666", "weight": 1, "fillColor": "#ffffcc", "fillOpacity": 0.25}


def marker_colour(status: str | None, condition: str | None) -> str:
    """Condition needing action wins over construction status."""
    if condition in CONDITION_COLOURS:
        return CONDITION_COLOURS[condition]
    return STATUS_COLOURS.get(status or "", "#9e9e9e")
