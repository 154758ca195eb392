"""Fuzzing: no generated request makes the OGC API answer 5xx.

1. Schemathesis over ``/openapi.json``: every operation of the whole API (the OGC API reads,
   the writes with a valid token, the map pages and their data, the status report, /health)
   gets generated requests, schema-conforming ("positive") and schema-violating ("negative"),
   sent in-process over ASGI; an exception escaping the app counts as a 5xx.
2. Hypothesis: incident reports that look like the field's (positions near the real line,
   enum codes, any Unicode text, dates around today) are either stored and served back exactly
   (201) or refused naming the field (422).

Bounded and deterministic: fixed numbers of examples (up to 18 per operation, ~45 operations),
``derandomize=True``, no deadline; well under a minute.
"""
import datetime as dt
import os
import shutil

import numpy as np
import pytest
import shapely

schemathesis = pytest.importorskip("schemathesis")
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from bienmoc.api import create_app
from bienmoc.api.settings import Settings
from bienmoc.model.schema import IncidentKind, IncidentStatus
from bienmoc.storage import GeoPackageStore

TOKEN = "fuzz-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: Examples per operation and mode; BIENMOC_FUZZ_SCALE=N multiplies them for a deeper run.
SCALE = max(1, int(os.environ.get("BIENMOC_FUZZ_SCALE", "1")))
EXAMPLES = {GenerationMode.POSITIVE: 10 * SCALE, GenerationMode.NEGATIVE: 8 * SCALE}
#: Every operation of the API is fuzzed (the OGC API, the map pages and their data, the status
#: report, /health); the map pages render a whole Folium map per request, so they get fewer.
HEAVY_PATHS = ("/maps/overview", "/maps/progress", "/maps/incidents")
SETTINGS = {"derandomize": True, "deadline": None, "database": None,
            "suppress_health_check": list(HealthCheck)}


@pytest.fixture(scope="module")
def store(tmp_path_factory, demo_store_path):
    path = tmp_path_factory.mktemp("fuzz") / "demo.gpkg"
    shutil.copy(demo_store_path, path)
    os.chmod(path, 0o644)
    return GeoPackageStore(path)


@pytest.fixture(scope="module")
def app(store):
    return create_app(store=store, settings=Settings(api_token=TOKEN), tiles=None)


@pytest.mark.slow
def test_openapi_fuzzing_finds_no_server_error(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures, statuses, paths = [], [], set()
    for result in schema.get_all_operations():
        op = result.ok()
        paths.add(op.path)
        for mode, n in EXAMPLES.items():
            if op.path in HEAVY_PATHS:
                n = 2 * SCALE
            # half the PATCHes name an incident that exists, to reach the validation
            fixed = {"featureId": "V-000001"} if op.method.upper() == "PATCH" and \
                mode is GenerationMode.POSITIVE else None
            _fuzz(op, mode, n, fixed, statuses, failures)
    assert {"/", "/health", "/api/status", "/maps/overview", "/collections/markers/schema",
            "/collections/incidents/items"} <= paths
    assert len(statuses) >= 150
    assert not failures, "\n".join(failures[:20])
    writes = {s for m, _, s in statuses if m in ("POST", "PATCH")}
    assert 422 in writes, sorted(writes)  # generated bodies reached the validation


def _fuzz(op, mode, n, fixed, statuses, failures) -> None:
    @settings(max_examples=n, **SETTINGS)
    @given(case=op.as_strategy(generation_mode=mode, path_parameters=fixed))
    def run(case):
        try:
            status = case.call(headers=AUTH).status_code
            error = ""
        except Exception as e:  # the ASGI app raised: that is a 500
            status, error = 500, f" ({type(e).__name__}: {e})"
        statuses.append((case.method, op.path, status))
        if status >= 500:
            failures.append(f"{case.method} {case.formatted_path} {case.query} "
                            f"{case.body!r:.300} -> {status}{error}")

    try:
        run()
    except Unsatisfiable:
        # an operation without parameters or body (e.g. /health) has nothing to violate
        assert mode is GenerationMode.NEGATIVE, op.path


def _near_line(store) -> np.ndarray:
    line = store.read("boundary").geometry
    return shapely.get_coordinates(line.values)[::50]


_text = st.one_of(st.none(), st.text(max_size=60),
                  st.text(alphabet="ăâđêôơưàảãáạ xyz", min_size=3990, max_size=4010))
_day = st.one_of(st.none(), st.dates(dt.date(2000, 1, 1), dt.date.today() + dt.timedelta(3))
                 .map(dt.date.isoformat), st.sampled_from(["2024-02-30", "30/01/2024", ""]))


@pytest.mark.slow
def test_generated_incident_reports_are_stored_or_refused_by_field(app, store):
    client = TestClient(app)
    vertices = _near_line(store)
    seen = {"stored": 0, "refused": 0}

    @settings(max_examples=60, **SETTINGS)
    @given(v=st.integers(0, len(vertices) - 1),
           dx=st.floats(-0.3, 0.3), dy=st.floats(-0.3, 0.3),
           kind=st.sampled_from([k.value for k in IncidentKind] + ["Other", "vụ việc"]),
           status=st.one_of(st.none(), st.sampled_from([s.value for s in IncidentStatus]
                                                       + ["closed"])),
           border=st.one_of(st.none(), st.sampled_from(["CN", "LA", "KH", "TH", "la"])),
           reported=_day, occurred=_day, description=_text, province=_text)
    def run(v, dx, dy, kind, status, border, reported, occurred, description, province):
        props = {"kind": kind, "status": status, "border": border, "reported_date": reported,
                 "occurred_date": occurred, "description": description, "province": province}
        props = {k: val for k, val in props.items() if val is not None}
        lon, lat = float(vertices[v][0] + dx), float(vertices[v][1] + dy)
        body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": props}
        r = client.post("/collections/incidents/items", json=body, headers=AUTH)
        assert r.status_code in (201, 422), (r.status_code, r.text)
        if r.status_code == 422:
            problems = r.json()["problems"]
            assert problems and all(p["field"] for p in problems), r.json()
            seen["refused"] += 1
            return
        seen["stored"] += 1
        got = client.get(r.headers["location"]).json()
        assert got["geometry"]["coordinates"] == [lon, lat]
        assert got["properties"]["kind"] == kind
        if description is not None:
            assert got["properties"]["description"] == (description.strip() or None)

    run()
    assert seen["stored"] and seen["refused"], seen
