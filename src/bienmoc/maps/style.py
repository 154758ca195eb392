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
#: Terrain layers (maps/terrain.py): marker pairs that are not intervisible, slope classes
#: (<10, 10-20, 20-30, 30-40, >=40 deg; the same colours as terrain/overlay.py's images).
BLOCKED_PAIR_COLOUR = "#00acc1"   # cyan: distinct from the boundary and markers
SLOPE_CLASS_COLOURS = {"<10": "#1a9850", "10-20": "#91cf60", "20-30": "#fee08b",
                       "30-40": "#fc8d59", ">=40": "#d73027"}


#: Line sections by demarcation status (bienmoc.schema.DemarcationStatus): a wide band under
#: the boundary line, solid where demarcated, dashed orange where not yet.
SECTION_COLOURS = {"demarcated": "#1a9641", "not_demarcated": "#ff7f00"}
SECTION_STYLES = {"demarcated": {"color": SECTION_COLOURS["demarcated"], "weight": 10,
                                 "opacity": 0.3},
                  "not_demarcated": {"color": SECTION_COLOURS["not_demarcated"], "weight": 14,
                                     "opacity": 0.85, "dashArray": "10 8"}}


#: Province outlines, drawn apart from the fill and clipped away from the boundary line (the
#: boundary is drawn once, above them: see maps.data.base_data "province_lines").
PROVINCE_LINE_STYLE = {"color": "#666666", "weight": 1, "opacity": 0.9}
#: Province fill without stroke (the outline is PROVINCE_LINE_STYLE).
PROVINCE_FILL_STYLE = {"stroke": False, "fillColor": "#ffffcc", "fillOpacity": 0.25}

#: Incident cluster bubbles (outer ring, inner disc) by size: a neutral sand palette that
#: reuses no status colour (markercluster's default green/yellow/orange would read as
#: "resolved"/"verifying"). tests/test_maps.py checks they stay apart from every status colour.
CLUSTER_COLOURS = {"small": ("#f2ead8", "#e0cfa6"), "medium": ("#e0cfa6", "#b89b63"),
                   "large": ("#d6c09a", "#a88b5a")}
CLUSTER_TEXT = "#3b3020"

#: Zooms from which the detail shows: rings around markers due for inspection (below it,
#: one count per section of the line), marker numbers and gate names as labels.
RING_MIN_ZOOM = 11
MARKER_LABEL_ZOOM = 12
GATE_LABEL_ZOOM = 9
#: Lengths of the sections of line that aggregate the due markers below RING_MIN_ZOOM; the
#: browser takes the shortest one that is at least DUE_SECTION_MIN_PX long on screen.
DUE_SECTION_KM = (10.0, 25.0, 50.0, 100.0, 200.0)
DUE_SECTION_MIN_PX = 40
#: Aggregate of due markers (a disc with the count, outlined in the ring colour).
DUE_AGGREGATE_FILL = "#ffffff"

#: Gate symbols: the shape says the kind, the fill/outline the status (maps.css draws them,
#: classes bm-gk-<kind> and bm-gs-<status>; the legend uses the same classes).
GATE_SHAPES = {"international": "square", "main": "diamond", "auxiliary": "circle",
               "opening": "small circle", "border_market": "small square"}
GATE_STATUS_LOOK = {"open": "solid", "planned": "dashed outline", "suspended": "half filled",
                    "closed": "dotted outline", "upgrading": "solid, gold ring"}
GATE_UPGRADING_RING = "#e6ab02"


def status_colours() -> set[str]:
    """Every colour that means a status or condition on some map (lower-case #rrggbb)."""
    out = set()
    for d in (STATUS_COLOURS, CONDITION_COLOURS, WORK_COLOURS, INCIDENT_COLOURS):
        out |= {c.lower() for c in d.values()}
    return out | {c.lower() for c in (STALLED_HALO, OVERDUE_RING, NEVER_RING, BOUNDARY_COLOUR,
                                      GATE_UPGRADING_RING)}


def js_colours() -> dict:
    """Every colour the browser code needs."""
    return {"status": STATUS_COLOURS, "condition": CONDITION_COLOURS, "work": WORK_COLOURS,
            "stalled": STALLED_HALO, "overdue": OVERDUE_RING, "never": NEVER_RING,
            "incident": INCIDENT_COLOURS, "neighbour": NEIGHBOUR_STYLE,
            "province": PROVINCE_FILL_STYLE, "province_line": PROVINCE_LINE_STYLE,
            "boundary": BOUNDARY_STYLE, "due_fill": DUE_AGGREGATE_FILL,
            "section": SECTION_STYLES}


def js_zooms() -> dict:
    return {"rings": RING_MIN_ZOOM, "marker_labels": MARKER_LABEL_ZOOM,
            "gate_labels": GATE_LABEL_ZOOM, "section_px": DUE_SECTION_MIN_PX}


def cluster_css() -> str:
    """markercluster bubbles (and the server's per-cell counts) in CLUSTER_COLOURS."""
    out = []
    for size, (outer, inner) in CLUSTER_COLOURS.items():
        # prefixed: outranks MarkerCluster.Default.css whatever the order of the sheets
        out.append(f".leaflet-container .marker-cluster-{size}{{background-color:{outer}}}"
                   f".leaflet-container .marker-cluster-{size} div{{background-color:{inner};"
                   f"color:{CLUSTER_TEXT}}}")
    return "".join(out)
