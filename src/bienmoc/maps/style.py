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

#: Works by derived status (bienmoc.progress.WorkStatus); stalled ones also get a halo.
WORK_COLOURS = {"not_started": "#9e9e9e", "in_progress": "#2b83ba", "stalled": "#d7191c",
                "completed": "#1a9641"}
STALLED_HALO = "#ff0000"
#: Rings around markers due for inspection.
OVERDUE_RING = "#e7298a"
NEVER_RING = "#737373"
#: Incidents by status (bienmoc.schema.IncidentStatus).
INCIDENT_COLOURS = {"reported": "#e31a1c", "verifying": "#ff7f00", "negotiating": "#6a3d9a",
                    "resolved": "#33a02c"}
NEIGHBOUR_STYLE = {"color": "#bdbdbd", "weight": 0, "fillColor": "#cfcfcf", "fillOpacity": 0.6}
BOUNDARY_STYLE = {"color": BOUNDARY_COLOUR, "weight": 3, "opacity": 0.9}


#: Line sections by demarcation status (bienmoc.schema.DemarcationStatus): a wide band under
#: the boundary line, solid where demarcated, dashed orange where not yet.
SECTION_COLOURS = {"demarcated": "#1a9641", "not_demarcated": "#ff7f00"}
SECTION_STYLES = {"demarcated": {"color": SECTION_COLOURS["demarcated"], "weight": 10,
                                 "opacity": 0.3},
                  "not_demarcated": {"color": SECTION_COLOURS["not_demarcated"], "weight": 14,
                                     "opacity": 0.85, "dashArray": "10 8"}}


def js_colours() -> dict:
    """Every colour the browser code needs."""
    return {"status": STATUS_COLOURS, "condition": CONDITION_COLOURS, "work": WORK_COLOURS,
            "stalled": STALLED_HALO, "overdue": OVERDUE_RING, "never": NEVER_RING,
            "incident": INCIDENT_COLOURS, "neighbour": NEIGHBOUR_STYLE,
            "province": PROVINCE_STYLE, "boundary": BOUNDARY_STYLE, "section": SECTION_STYLES}
