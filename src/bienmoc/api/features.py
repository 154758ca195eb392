"""OGC API – Features (Part 1 Core + GeoJSON) over the store, and authenticated field writes.

Reads (no token): the landing page, ``/conformance``, ``/collections``, ``/collections/{id}``,
``/collections/{id}/queryables``, ``/collections/{id}/items`` (``bbox``, ``limit``, ``offset``,
``datetime``, property filters; ``numberMatched``/``numberReturned``; ``next``/``prev`` links)
and ``/collections/{id}/items/{featureId}`` for the collections ``boundary``, ``markers``,
``gates``, ``works``, ``inspections`` and ``incidents``. Coordinates are CRS84 longitude/latitude;
feature ids are the records' ``id`` (the boundary's: its ``border`` code). Answers come from the
per-process :class:`~bienmoc.api.query.QueryCache` (see :mod:`bienmoc.api.query`).

The landing page shares ``/`` with the HTML index: its route matches only requests that ask
for JSON (``?f=json`` or an ``Accept`` naming JSON but not HTML), so it must be included before
the pages router. ``/api`` serves the OpenAPI document with the OGC media type (GDAL reads the
``limit`` bounds from it).

Writes (``Authorization: Bearer <BIENMOC_API_TOKEN>``): ``POST /collections/incidents/items``
(a GeoJSON Feature), ``PATCH /collections/incidents/items/{id}`` (merge patch of ``status`` and
``description``) and ``POST /collections/inspections/items``. With no token configured writes
answer 403 saying how to enable them; a missing or wrong token answers 401. Every body is checked
(size before it is read, JSON shape by the pydantic models documented at ``/docs``, then the
domain rules of :func:`bienmoc.schema.validate` and :mod:`bienmoc.records`, the distance to the
border, dates); a problem answers 4xx with ``{"detail", "problems": [{"field", "reason"}]}`` and
nothing is stored. A 201/200 is sent only after the store's write returned, i.e. once the record
is durable (fsynced; see :mod:`bienmoc.storage.geopackage`).

Status changes are auditable: a PATCH changes the incident in place and, in the same
transaction, appends one row per changed field (old value, new value, UTC time) to the
``incident_changes`` layer of the store; nothing is ever deleted.
"""
from __future__ import annotations

import datetime as _dt
import hmac
import inspect
import re
import threading
from typing import Annotated, Any, Literal, Optional, Union
from urllib.parse import quote, urlencode

import geopandas as gpd
import numpy as np
import shapely
import shapely.geometry
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictFloat, StrictInt
from starlette.exceptions import HTTPException
from starlette.routing import Match

from bienmoc.geometry.crs import STORAGE_CRS
from bienmoc.errors import InvalidData, NotFound, Problem
from bienmoc.model.dates import parse_date
from bienmoc.model.schema import (REGION_BOUNDS, SCHEMAS, FoundCondition, IncidentKind, IncidentStatus,
                      InspectionTeam, validate)
from bienmoc.api.query import CHANGE_LOGS, LayerIndex, QueryCache, dumps, parse_interval
from bienmoc.api.settings import Settings

__all__ = ["features_router", "COLLECTIONS", "CONFORMANCE", "landing_page",
           "IncidentIn", "IncidentPatch", "InspectionIn"]

#: Layers served as OGC API collections (provinces and the work/inspection logs are not).
COLLECTIONS = ("boundary", "markers", "gates", "works", "inspections", "incidents")
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]
GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
MAX_OFFSET = 2**31 - 1
#: Attempts of a write whose freshly chosen id another process took first.
WRITE_ATTEMPTS = 5
_WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
_CRS_HEADER = {"Content-Crs": f"<{CRS84}>"}
_JSON_TYPES = ("application/json", "application/geo+json", "application/merge-patch+json")


# -- request bodies (documented at /docs) ----------------------------------------------------

Coordinate = Annotated[Union[StrictInt, StrictFloat], Field(allow_inf_nan=False)]
Position = Annotated[list[Coordinate], Field(min_length=2, max_length=3,
                                             description="[longitude, latitude] (CRS84)")]
Ring = Annotated[list[Position], Field(min_length=4, max_length=10_000)]


class PointGeometry(BaseModel):
    """A GeoJSON Point in CRS84 (longitude, latitude)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["Point"]
    coordinates: Position


class PolygonGeometry(BaseModel):
    """A GeoJSON Polygon in CRS84 (an area, e.g. a landslide or encroached field)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["Polygon"]
    coordinates: Annotated[list[Ring], Field(min_length=1, max_length=100)]


class MultiPolygonGeometry(BaseModel):
    """A GeoJSON MultiPolygon in CRS84."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["MultiPolygon"]
    coordinates: Annotated[list[Annotated[list[Ring], Field(min_length=1, max_length=100)]],
                           Field(min_length=1, max_length=100)]


def _codes(enum) -> Any:
    return Literal[tuple(m.value for m in enum)]  # type: ignore[valid-type]


BorderCode = Annotated[str, Field(pattern="^[A-Z]{2}$", description="neighbour's ISO code, e.g. "
                                  "CN, LA, KH")]
def _iso_day(v):
    """A body date: written ISO YYYY-MM-DD (JSON's form), read by the one date parser."""
    if isinstance(v, _dt.date) and not isinstance(v, _dt.datetime):
        return v
    if not isinstance(v, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v.strip()):
        raise ValueError("write the date as YYYY-MM-DD")
    return parse_date(v)


Day = Annotated[_dt.date, BeforeValidator(_iso_day), Field(description="YYYY-MM-DD")]


class IncidentProperties(BaseModel):
    """What a field team reports; border and province are found from the position if left
    out, the id is assigned by the server."""

    model_config = ConfigDict(extra="forbid")
    kind: _codes(IncidentKind) = Field(description="incident kind (code)")
    status: _codes(IncidentStatus) = Field("reported", description="current status (code)")
    border: Optional[BorderCode] = None
    province: Optional[Annotated[str, Field(max_length=100)]] = None
    occurred_date: Optional[Day] = Field(None, description="when it happened (YYYY-MM-DD)")
    reported_date: Optional[Day] = Field(None, description="when it was detected (default: "
                                         "today)")
    description: Optional[Annotated[str, Field(max_length=4000)]] = None


class IncidentIn(BaseModel):
    """A GeoJSON Feature: one incident on or near the line."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [103.8, 20.8]},
        "properties": {"kind": "illegal_crossing", "reported_date": "2025-06-01",
                       "description": "Phát hiện 3 người xuất cảnh trái phép"}}})
    type: Literal["Feature"]
    id: None = Field(None, description="leave out: the server assigns the id")
    bbox: Optional[list[Coordinate]] = Field(None, description="ignored")
    geometry: Annotated[Union[PointGeometry, PolygonGeometry, MultiPolygonGeometry],
                        Field(discriminator="type")]
    properties: IncidentProperties


class InspectionProperties(BaseModel):
    """One inspection of a marker (append-only: a correction names the record it corrects)."""

    model_config = ConfigDict(extra="forbid")
    border: BorderCode
    marker: Annotated[str, Field(min_length=1, max_length=32, description="marker number, "
                                 "e.g. 222(1)")]
    date: Day
    team: _codes(InspectionTeam)
    condition: _codes(FoundCondition)
    notes: Optional[Annotated[str, Field(max_length=4000)]] = None
    photos: Optional[Annotated[str, Field(max_length=2000)]] = None
    corrects: Optional[Annotated[str, Field(max_length=64)]] = None


class InspectionIn(BaseModel):
    """A GeoJSON Feature: an inspection, with the measured position if one was taken."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "type": "Feature", "geometry": None,
        "properties": {"border": "LA", "marker": "255", "date": "2025-06-01",
                       "team": "joint", "condition": "good"}}})
    type: Literal["Feature"]
    id: None = Field(None, description="leave out: the server assigns the id")
    bbox: Optional[list[Coordinate]] = Field(None, description="ignored")
    geometry: Optional[PointGeometry] = None
    properties: InspectionProperties


class IncidentPatch(BaseModel):
    """JSON merge patch of an incident: its status and/or description."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "status": "verifying"}})
    status: Optional[_codes(IncidentStatus)] = None
    description: Optional[Annotated[str, Field(max_length=4000)]] = None


_bearer = HTTPBearer(auto_error=False, description="the server's BIENMOC_API_TOKEN")


def _documented_bearer(cred: Annotated[Optional[HTTPAuthorizationCredentials],
                                       Depends(_bearer)] = None) -> None:
    """Documents the bearer scheme in OpenAPI; the check itself runs before the body is read
    (see ``_route_class``)."""


# -- errors and responses --------------------------------------------------------------------

def _problems_response(status: int, what: str, problems: list[dict]) -> JSONResponse:
    head = "; ".join(f"{p['field']}: {p['reason']}" if p.get("field") else p["reason"]
                     for p in problems[:5])
    return JSONResponse({"detail": f"{what}: {head}", "problems": problems}, status)


def _invalid(e: InvalidData, what: str) -> JSONResponse:
    return _problems_response(422, what, [{"field": p.field, "reason": p.reason}
                                          for p in e.problems])


def _param_error(name: str, reason: str) -> JSONResponse:
    return JSONResponse({"code": "InvalidParameterValue", "parameter": name,
                         "detail": f"parameter {name!r}: {reason}"}, 400)


def _not_found(detail: str) -> JSONResponse:
    return JSONResponse({"code": "NotFound", "detail": detail}, 404)


def _validation_response(e: RequestValidationError, write: bool) -> JSONResponse:
    """FastAPI/pydantic errors -> 400 (bad parameter or unreadable JSON) / 422 (bad body)."""
    problems, status = [], 422 if write else 400
    for err in e.errors():
        loc = [str(x) for x in err.get("loc", ())]
        if err.get("type") == "json_invalid":
            return _problems_response(400, "malformed JSON", [
                {"field": None, "reason": f"JSON decode error: {err.get('ctx', {}).get('error')}"
                 f" at position {loc[-1] if loc else '?'}"}])
        where, rest = (loc[0], loc[1:]) if loc else ("body", [])
        if where == "body":
            if rest[:1] == ["properties"] and len(rest) > 1:
                field = rest[1]
            elif rest[:1] == ["geometry"]:
                field = "geometry"
            else:
                field = ".".join(rest) or "body"
        else:
            field = rest[0] if rest else where
        problems.append({"field": field, "reason": err.get("msg", "invalid"),
                         "loc": ".".join(loc)})
    if not write:
        p = problems[0] if problems else {"field": "?", "reason": "invalid"}
        return _param_error(p["field"], p["reason"])
    return _problems_response(status, "invalid request body", problems)


class _TooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"request body larger than {limit} bytes")


def _auth_error(token: str | None, request: Request) -> JSONResponse | None:
    if not token:
        return JSONResponse({"detail": "writes are disabled: set BIENMOC_API_TOKEN to a secret "
                             "token when starting the server, then send it as "
                             "'Authorization: Bearer <token>'"}, 403)
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if not header or scheme.lower() != "bearer" or not given.strip():
        return JSONResponse({"detail": "missing bearer token: send 'Authorization: Bearer "
                             "<token>'"}, 401, headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8")):
        return JSONResponse({"detail": "invalid bearer token"}, 401, headers={
            "WWW-Authenticate": 'Bearer error="invalid_token"'})
    return None


def _route_class(settings: Settings) -> type[APIRoute]:
    """Routes that turn validation errors into OGC/field errors and guard writes (token, body
    size, media type) before the body is read."""
    token = settings.api_token or None
    limit = int(settings.max_body_bytes)

    class OGCRoute(APIRoute):
        def matches(self, scope):
            # the landing page answers JSON clients only: browsers get the HTML index
            if self.path == "/" and scope.get("type") == "http":
                match, child = super().matches(scope)
                if match is Match.FULL and not _wants_json(scope):
                    return Match.NONE, {}
                return match, child
            return super().matches(scope)

        def get_route_handler(self):
            handler = super().get_route_handler()
            write = bool(self.methods & _WRITE_METHODS)

            async def route(request: Request) -> Response:
                if write:
                    denied = _auth_error(token, request)
                    if denied is not None:
                        return denied
                    length = request.headers.get("content-length")
                    if length is not None:
                        if not length.isdigit():
                            return _problems_response(400, "bad request", [
                                {"field": None, "reason": "invalid Content-Length"}])
                        if int(length) > limit:
                            return _problems_response(413, "body too large", [
                                {"field": None, "reason": f"body of {length} bytes; the limit"
                                 f" is {limit} bytes"}])
                    ctype = request.headers.get("content-type", "").split(";")[0].strip()
                    if ctype.lower() not in _JSON_TYPES:
                        return _problems_response(415, "unsupported media type", [
                            {"field": None, "reason": f"send {' or '.join(_JSON_TYPES[:2])}"
                             f"{' (or merge-patch+json)' if 'PATCH' in self.methods else ''},"
                             f" not {ctype or 'no Content-Type'}"}])
                    request = Request(request.scope, _limited(request.receive, limit))
                try:
                    return await handler(request)
                except RequestValidationError as e:
                    return _validation_response(e, write)
                except _TooLarge:
                    return _problems_response(413, "body too large", [
                        {"field": None, "reason": f"the limit is {limit} bytes"}])

            return route

    return OGCRoute


def _limited(receive, limit: int):
    seen = 0

    async def wrapped():
        nonlocal seen
        message = await receive()
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge(limit)
        return message

    return wrapped


def _wants_json(scope) -> bool:
    query = scope.get("query_string", b"").decode("latin-1")
    for part in query.split("&"):
        k, _, v = part.partition("=")
        if k == "f":
            return v in ("json", "application%2Fjson")
    accept = ""
    for k, v in scope.get("headers", []):
        if k == b"accept":
            accept = v.decode("latin-1").lower()
    return ("json" in accept) and "text/html" not in accept


def _json_response(obj, status: int = 200, media_type: str = JSON, headers=None) -> Response:
    return Response(dumps(obj), status, headers=headers, media_type=media_type)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def landing_page(request: Request, settings: Settings | None = None) -> Response:
    """The OGC API landing page (JSON) for the app serving ``request``."""
    base = _base(request)
    vi = (settings.lang if settings else "vi") == "vi"
    return _json_response({
        "title": "bienmoc – biên giới đất liền" if vi else "bienmoc – land border",
        "description": ("Đường biên giới, cột mốc, cửa khẩu, công trình, kiểm tra và vụ việc "
                        "(OGC API – Features)") if vi else
                       "Boundary line, markers, gates, works, inspections and incidents "
                       "(OGC API – Features)",
        "links": [
            {"href": f"{base}/?f=json", "rel": "self", "type": JSON,
             "title": "this document"},
            {"href": f"{base}/", "rel": "alternate", "type": "text/html",
             "title": "maps (HTML)"},
            {"href": f"{base}/api", "rel": "service-desc", "type": OPENAPI_JSON,
             "title": "the API definition (OpenAPI; also at /openapi.json)"},
            {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html",
             "title": "the API documentation"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": JSON,
             "title": "conformance classes"},
            {"href": f"{base}/collections", "rel": "data", "type": JSON,
             "title": "collections"},
        ]})


# -- the router ------------------------------------------------------------------------------

def features_router(store, settings: Settings) -> APIRouter:
    """OGC API – Features reads and the authenticated writes over ``store``."""
    cache = QueryCache(store, COLLECTIONS)
    writer = _Writer(store, settings, cache)
    r = APIRouter(route_class=_route_class(settings))
    tag = ["OGC API – Features"]
    lang_vi = settings.lang == "vi"

    @r.get("/", tags=tag, summary="Landing page (JSON; browsers get the HTML index)",
           response_class=JSONResponse)
    async def landing(request: Request,
                      f: Optional[Literal["json"]] = Query(None, description="json")):
        return landing_page(request, settings)

    @r.get("/api", tags=tag, include_in_schema=False)
    async def api_definition(request: Request):
        return _json_response(request.app.openapi(), media_type=OPENAPI_JSON)

    @r.get("/conformance", tags=tag, summary="Conformance classes")
    async def conformance(f: Optional[Literal["json"]] = Query(None)):
        return _json_response({"conformsTo": CONFORMANCE})

    def collection_doc(name: str, base: str) -> dict:
        with cache.lock:
            lay = cache.layer(name)
            n, box, t = len(lay), lay.extent(), lay.time_extent()
        schema = SCHEMAS[name]
        title, other = (schema.vi, schema.en) if lang_vi else (schema.en, schema.vi)
        doc = {"id": name, "title": title, "description": f"{other} ({n} features)",
               "itemType": "feature", "crs": [CRS84], "storageCrs": CRS84,
               "links": [
                   {"href": f"{base}/collections/{name}", "rel": "self", "type": JSON},
                   {"href": f"{base}/collections/{name}/items", "rel": "items",
                    "type": GEOJSON, "title": f"{title} (GeoJSON)"},
                   {"href": f"{base}/collections/{name}/queryables",
                    "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                    "type": "application/schema+json"}]}
        extent = {}
        if box is not None:
            extent["spatial"] = {"bbox": [box], "crs": CRS84}
        if t is not None:
            extent["temporal"] = {"interval": [t],
                                  "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
        if extent:
            doc["extent"] = extent
        return doc

    @r.get("/collections", tags=tag, summary="The collections")
    async def collections(request: Request, f: Optional[Literal["json"]] = Query(None)):
        base = _base(request)
        return _json_response({
            "links": [{"href": f"{base}/collections", "rel": "self", "type": JSON}],
            "collections": [collection_doc(n, base) for n in COLLECTIONS]})

    for name in COLLECTIONS:
        _add_collection_routes(r, name, cache, writer, collection_doc, tag)

    @r.get("/collections/{collectionId}", tags=tag, summary="A collection",
           include_in_schema=False)
    async def collection_unknown(collectionId: str):
        return _not_found(f"no collection {collectionId!r}; collections: "
                          f"{', '.join(COLLECTIONS)}")

    @r.get("/collections/{collectionId}/items", tags=tag, include_in_schema=False)
    async def items_unknown(collectionId: str):
        return await collection_unknown(collectionId)

    @r.get("/collections/{collectionId}/items/{featureId:path}", tags=tag,
           include_in_schema=False)
    async def item_unknown(collectionId: str, featureId: str):
        return await collection_unknown(collectionId)

    # -- writes ------------------------------------------------------------------------------
    wtag = ["OGC API – Features: writes"]
    auth = [Depends(_documented_bearer)]
    created = {201: {"description": "Created: the record is stored durably",
                     "content": {GEOJSON: {}}},
               401: {"description": "Missing or wrong bearer token"},
               403: {"description": "Writes are disabled (no BIENMOC_API_TOKEN)"},
               413: {"description": "Body too large"},
               415: {"description": "Not JSON"},
               422: {"description": "Invalid: `problems` names each field"}}

    @r.post("/collections/incidents/items", tags=wtag, status_code=201, dependencies=auth,
            summary="Report an incident (GeoJSON Feature)", response_class=Response,
            responses=created)
    def create_incident(request: Request, feature: Annotated[IncidentIn, Body(
            media_type=GEOJSON)]) -> Response:
        return writer.create_incident(request, feature)

    @r.patch("/collections/incidents/items/{featureId}", tags=wtag, dependencies=auth,
             summary="Change an incident's status or description (JSON merge patch)",
             response_class=Response,
             responses={**{k: v for k, v in created.items() if k != 201},
                        200: {"description": "The changed incident", "content": {GEOJSON: {}}},
                        404: {"description": "No such incident"}})
    def patch_incident(request: Request,
                       featureId: Annotated[str, Path(max_length=64)],
                       patch: Annotated[IncidentPatch, Body(
                           media_type="application/merge-patch+json")]) -> Response:
        return writer.patch_incident(request, featureId, patch)

    @r.post("/collections/inspections/items", tags=wtag, status_code=201, dependencies=auth,
            summary="Record an inspection of a marker (GeoJSON Feature)",
            response_class=Response, responses=created)
    def create_inspection(request: Request, feature: Annotated[InspectionIn, Body(
            media_type=GEOJSON)]) -> Response:
        return writer.create_inspection(request, feature)

    return r


def _add_collection_routes(r: APIRouter, name: str, cache: QueryCache, writer, collection_doc,
                           tag) -> None:
    schema = SCHEMAS[name]
    temporal = name != "boundary"
    filters = _filter_params(name)
    allowed = {"bbox", "bbox-crs", "crs", "limit", "offset", "f"} | \
        ({"datetime"} if temporal else set()) | \
        {p.name for p in filters}

    async def collection(request: Request, f: Optional[Literal["json"]] = Query(None)):
        return _json_response(collection_doc(name, _base(request)))

    r.add_api_route(f"/collections/{name}", collection, methods=["GET"], tags=tag,
                    summary=f"Collection {name}", name=f"collection_{name}")

    async def queryables(request: Request, f: Optional[Literal["json"]] = Query(None)):
        base = _base(request)
        return _json_response({
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": f"{base}/collections/{name}/queryables", "type": "object",
            "title": schema.en, "properties": {p.name: _prop_schema(name, p.name)
                                               for p in filters}},
            media_type="application/schema+json")

    r.add_api_route(f"/collections/{name}/queryables", queryables, methods=["GET"], tags=tag,
                    summary=f"Queryable properties of {name}", name=f"queryables_{name}")

    async def items(request: Request, **kw):
        unknown = [k for k in request.query_params if k not in allowed]
        if unknown:
            return _param_error(unknown[0], "unknown parameter; this collection takes "
                                + ", ".join(sorted(allowed)))
        boxes = None
        if kw.get("bbox") is not None:
            try:
                boxes = _parse_bbox(kw["bbox"])
            except ValueError as e:
                return _param_error("bbox", str(e))
        interval = None
        if kw.get("datetime") is not None:
            try:
                interval = parse_interval(kw["datetime"])
            except ValueError as e:
                return _param_error("datetime", str(e))
        equals = {}
        for p in filters:
            v = kw.get(p.name)
            if v is not None:
                equals[p.name] = _filter_value(name, p.name, v)
        limit, offset = kw["limit"], kw["offset"]
        with cache.lock:
            lay = cache.layer(name)
            page = lay.select(bbox=boxes, interval=interval, equals=equals, limit=limit,
                              offset=offset)
            body = _items_body(request, name, lay, page, limit, offset)
        return Response(body, 200, media_type=GEOJSON, headers=_CRS_HEADER)

    items.__signature__ = inspect.Signature(
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                           annotation=Request)]
        + _common_params(temporal) + filters)
    r.add_api_route(f"/collections/{name}/items", items, methods=["GET"], tags=tag,
                    summary=f"Features of {name}", name=f"items_{name}",
                    response_class=Response,
                    responses={200: {"description": "A GeoJSON FeatureCollection page",
                                     "content": {GEOJSON: {}}},
                               400: {"description": "Invalid parameter"}})

    async def item(request: Request, featureId: str,
                   f: Optional[Literal["json"]] = Query(None)):
        with cache.lock:
            lay = cache.layer(name)
            row = lay.pos.get(featureId)
            body = None if row is None else _with_links(request, name, lay, row)
        if body is None:
            return _not_found(f"no feature {featureId!r} in collection {name!r}")
        return Response(body, 200, media_type=GEOJSON, headers=_CRS_HEADER)

    r.add_api_route(f"/collections/{name}/items/{{featureId:path}}", item, methods=["GET"],
                    tags=tag, summary=f"One feature of {name}", name=f"item_{name}",
                    response_class=Response,
                    responses={200: {"description": "A GeoJSON Feature",
                                     "content": {GEOJSON: {}}},
                               404: {"description": "No such feature"}})


def _common_params(temporal: bool) -> list[inspect.Parameter]:
    kw = inspect.Parameter.KEYWORD_ONLY
    out = [
        inspect.Parameter("bbox", kw, annotation=Optional[str], default=Query(
            None, max_length=200, description="minLon,minLat,maxLon,maxLat in CRS84 (features "
            "that intersect it)", examples=["103.69,20.69,103.89,20.87"])),
        inspect.Parameter("limit", kw, annotation=int, default=Query(
            DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="features per page")),
        inspect.Parameter("offset", kw, annotation=int, default=Query(
            0, ge=0, le=MAX_OFFSET, description="features to skip (follow the `next` link)")),
    ]
    crs = Optional[Literal[(CRS84,)]]  # type: ignore[valid-type]
    out.append(inspect.Parameter("crs", kw, annotation=crs, default=Query(
        None, description="CRS of the answer: only CRS84 (longitude, latitude) is offered")))
    out.append(inspect.Parameter("bbox_crs", kw, annotation=crs, default=Query(
        None, alias="bbox-crs", description="CRS of bbox: only CRS84")))
    if temporal:
        out.append(inspect.Parameter("datetime", kw, annotation=Optional[str], default=Query(
            None, max_length=100, description="RFC 3339 date/date-time or interval "
            "(START/END, ../END, START/..) on the collection's date")))
    out.append(inspect.Parameter("f", kw, annotation=Optional[Literal["json"]],
                                 default=Query(None, description="json (GeoJSON)")))
    return out


def _filter_params(name: str) -> list[inspect.Parameter]:
    kw = inspect.Parameter.KEYWORD_ONLY
    out = []
    for f in SCHEMAS[name].fields:
        if f.name in ("id", "notes", "description", "photos", "previous_wkt"):
            continue
        if f.is_enum:
            ann = Optional[_codes(f.type)]
            q = Query(None, description=f"{f.en} equals (code)")
        elif f.type == "date":
            ann = Optional[_dt.date]
            q = Query(None, description=f"{f.en} equals (YYYY-MM-DD)")
        elif f.type == "int":
            ann = Optional[int]
            q = Query(None, description=f"{f.en} equals", ge=-2**53, le=2**53)
        elif f.type == "float":
            ann = Optional[float]
            q = Query(None, description=f"{f.en} equals", allow_inf_nan=False)
        elif f.type == "bool":
            ann = Optional[bool]
            q = Query(None, description=f"{f.en} (true/false)")
        else:
            ann = Optional[str]
            q = Query(None, max_length=f.max_len or 200, description=f"{f.en} equals")
        out.append(inspect.Parameter(f.name, kw, annotation=ann, default=q))
    return out


def _prop_schema(name: str, field: str) -> dict:
    f = SCHEMAS[name].field(field)
    if f.is_enum:
        return {"type": "string", "title": f.en, "enum": [m.value for m in f.type]}
    if f.type == "date":
        return {"type": "string", "format": "date", "title": f.en}
    return {"type": {"int": "integer", "float": "number", "bool": "boolean"}.get(f.type,
                                                                                 "string"),
            "title": f.en}


def _filter_value(name: str, field: str, v):
    f = SCHEMAS[name].field(field)
    if f.type == "date":
        return np.datetime64(v, "D")
    if f.type == "float":
        return float(v)
    if f.type == "int":
        return int(v)
    if f.type == "bool":
        return bool(v)
    return str(v).strip()


def _parse_bbox(text: str) -> list[tuple]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (4, 6):
        raise ValueError("give 4 numbers: minLon,minLat,maxLon,maxLat")
    try:
        v = [float(p) for p in parts]
    except ValueError:
        raise ValueError("not numbers") from None
    if not all(np.isfinite(v)):
        raise ValueError("numbers must be finite")
    if len(v) == 6:
        v = [v[0], v[1], v[3], v[4]]
    x0, y0, x1, y1 = v
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise ValueError("longitudes must lie in -180..180 and latitudes in -90..90 (CRS84: "
                         "longitude first)")
    if y0 > y1:
        raise ValueError("minLat is above maxLat")
    if x0 > x1:  # crosses the antimeridian
        return [(x0, y0, 180.0, y1), (-180.0, y0, x1, y1)]
    return [(x0, y0, x1, y1)]


def _page_url(request: Request, offset: int, limit: int) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items()
              if k not in ("offset", "limit")]
    params += [("limit", str(limit)), ("offset", str(offset))]
    return f"{_base(request)}{request.url.path}?{urlencode(params)}"


def _items_body(request: Request, name: str, lay: LayerIndex, page, limit: int,
                offset: int) -> bytes:
    base = _base(request)
    links = [{"href": str(request.url), "rel": "self", "type": GEOJSON, "title": "this page"},
             {"href": f"{base}/collections/{name}", "rel": "collection", "type": JSON}]
    if offset + limit < page.matched:
        links.append({"href": _page_url(request, offset + limit, limit), "rel": "next",
                      "type": GEOJSON, "title": "next page"})
    if offset > 0:
        links.append({"href": _page_url(request, max(0, offset - limit), limit),
                      "rel": "prev", "type": GEOJSON, "title": "previous page"})
    head = dumps({
        "type": "FeatureCollection", "numberMatched": int(page.matched),
        "numberReturned": int(len(page.rows)),
        "timeStamp": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": links})
    return head[:-1] + b',"features":[' + b",".join(lay.feature_bytes(page.rows)) + b"]}"


def _with_links(request: Request, name: str, lay: LayerIndex, row: int) -> bytes:
    base = _base(request)
    fid = quote(str(lay.ids[row]), safe="")
    links = dumps([
        {"href": f"{base}/collections/{name}/items/{fid}", "rel": "self", "type": GEOJSON},
        {"href": f"{base}/collections/{name}", "rel": "collection", "type": JSON}])
    return lay.feature_bytes([row])[0][:-1] + b',"links":' + links + b"}"


# -- writes ----------------------------------------------------------------------------------

class _Writer:
    """The write paths: validate everything, write once, answer from the refreshed cache."""

    def __init__(self, store, settings: Settings, cache: QueryCache):
        self.store, self.settings, self.cache = store, settings, cache
        self._lock = threading.Lock()
        self._model = None
        self._model_key = None

    # the border model (distance to the line, border and province of a position)
    def border_model(self):
        from bienmoc.geometry.locate import BorderModel

        with self.cache.lock:
            key = tuple(self.cache.layer(n).state or id(self.cache.layer(n))
                        for n in ("boundary", "markers")) + (self._provinces_key(),)
        if self._model is None or key != self._model_key:
            boundary = self.store.read("boundary")
            if not len(boundary):
                raise InvalidData(Problem(None, "geometry", "the store has no boundary line "
                                          "to check positions against"))
            self._model = BorderModel(boundary, self.store.read("markers"),
                                      self.store.read("provinces"))
            self._model_key = key
        return self._model

    def _provinces_key(self):
        state = getattr(self.store, "layer_state", None)
        return state("provinces") if state else self.store.version()

    def _distance_problems(self, geom, border: str | None, what: str) -> tuple[list, dict]:
        """Problems with the distance of ``geom`` to the border (and its located border and
        province)."""
        x0, y0, x1, y1 = REGION_BOUNDS
        b = shapely.bounds(geom)
        if not (np.isfinite(b).all() and x0 <= b[0] and b[2] <= x1 and y0 <= b[1] and b[3] <= y1):
            return [], {"border": None, "province": None}  # validate() says where it is
        model = self.border_model()
        gs = gpd.GeoSeries([geom], crs=STORAGE_CRS)
        loc = model.locate(gs, describe=False).iloc[0]
        found = {"border": loc["border"], "province": loc["province"]}
        dist = float(loc["distance_m"])
        if border is not None and border != loc["border"]:
            if border not in model.index.borders:
                return [], found  # validate() names the unknown border
            xy = model.index.to_metric_xy(gs)
            dist = float(model.index.locate_on(border, xy[:, 0], xy[:, 1]).distance_m[0])
        limit = float(self.settings.write_max_distance_m)
        if dist > limit:
            return [{"field": "geometry", "reason": f"{what} lies {dist / 1000:.1f} km from the "
                     f"{border or loc['border']} border line; the limit is {limit / 1000:g} km"
                     }], found
        return [], found

    def _respond(self, request: Request, name: str, record_id: str, status: int) -> Response:
        with self.cache.lock:
            self.cache.refresh()
            lay = self.cache.layer(name)
            body = _with_links(request, name, lay, lay.pos[record_id])
        headers = {}
        if status == 201:
            headers["Location"] = (f"{_base(request)}/collections/{name}/items/"
                                   f"{quote(record_id, safe='')}")
        return Response(body, status, headers=headers, media_type=GEOJSON)

    # POST /collections/incidents/items
    def create_incident(self, request: Request, feature: IncidentIn) -> Response:
        from bienmoc.storage.geopackage import DuplicateKey

        props = feature.properties
        try:
            geom = shapely.geometry.shape(feature.geometry.model_dump())
        except Exception as e:  # noqa: BLE001 - any shapely construction error
            return _problems_response(422, "invalid incident", [
                {"field": "geometry", "reason": f"not a valid geometry: {e}"}])
        today = _dt.date.today()
        reported = props.reported_date or today
        problems = []
        if reported > today:
            problems.append({"field": "reported_date", "reason": f"{reported} is in the future"})
        if props.occurred_date is not None:
            if props.occurred_date > today:
                problems.append({"field": "occurred_date",
                                 "reason": f"{props.occurred_date} is in the future"})
            elif props.occurred_date > reported:
                problems.append({"field": "occurred_date", "reason": f"{props.occurred_date} is "
                                 f"after the reported date {reported}"})
        for _attempt in range(WRITE_ATTEMPTS):
            with self._lock:
                prefix = SCHEMAS["incidents"].id_prefix
                with self.cache.lock:
                    rec_id = f"{prefix}-{self.cache.layer('incidents').next_seq(prefix):06d}"
                    borders = set(self.cache.layer("boundary").ids) or None
                border, province = props.border, props.province
                geo_problems: list = []
                try:
                    geo_problems, found = self._distance_problems(geom, border, "the incident")
                    border = border or found["border"]
                    province = province or found["province"]
                except InvalidData as e:
                    geo_problems = [{"field": p.field or "geometry", "reason": p.reason}
                                    for p in e.problems]
                except Exception as e:  # noqa: BLE001 - a geometry GEOS cannot measure
                    geo_problems = [{"field": "geometry", "reason": f"cannot locate it: {e}"}]
                frame = gpd.GeoDataFrame({
                    "id": [rec_id], "kind": [props.kind], "status": [props.status],
                    "border": [border], "province": [province],
                    "occurred_date": [props.occurred_date], "reported_date": [reported],
                    "description": [props.description]}, geometry=[geom], crs=STORAGE_CRS)
                try:
                    data = validate("incidents", frame, borders=borders, what="incident")
                except InvalidData as e:
                    bad = [{"field": p.field, "reason": p.reason} for p in e.problems]
                    geo = {p["field"] for p in bad}
                    return _problems_response(422, "invalid incident", bad + problems + (
                        [] if "geometry" in geo else geo_problems))
                if problems or geo_problems:
                    return _problems_response(422, "invalid incident", problems + geo_problems)
                try:
                    self.store.write("incidents", data, mode="append")
                except DuplicateKey:
                    self.cache.refresh()
                    continue
                return self._respond(request, "incidents", rec_id, 201)
        return _problems_response(409, "conflict", [{"field": "id", "reason": "could not pick "
                                  "a free id; try again"}])

    # PATCH /collections/incidents/items/{id}
    def patch_incident(self, request: Request, record_id: str, patch: IncidentPatch
                       ) -> Response:
        given = [k for k in IncidentPatch.model_fields if k in patch.model_fields_set]
        if not given:
            return _problems_response(422, "nothing to change", [
                {"field": None, "reason": "send 'status' and/or 'description'"}])
        if "status" in given and patch.status is None:
            return _problems_response(422, "invalid change", [
                {"field": "status", "reason": "an incident always has a status"}])
        with self._lock:
            with self.cache.lock:
                lay = self.cache.layer("incidents")
                row = lay.pos.get(record_id)
                if row is not None:
                    rec, geom = lay.record(row), lay.geoms[row]
            if row is None:
                return _not_found(f"no incident {record_id!r}")
            for k in given:
                rec[k] = getattr(patch, k)
            frame = gpd.GeoDataFrame({k: [v] for k, v in rec.items()},
                                     geometry=[geom], crs=STORAGE_CRS)
            try:
                data = validate("incidents", frame, what="incident")
            except InvalidData as e:
                return _invalid(e, "invalid change")
            values = {k: data[k].iloc[0] for k in given}
            values = {k: (None if v is None or (isinstance(v, float) and np.isnan(v))
                          else str(v)) for k, v in values.items()}
            update = getattr(self.store, "update_fields", None)
            try:
                if update is not None:
                    update("incidents", record_id, values, log_layer=CHANGE_LOGS["incidents"],
                           note="api")
                else:
                    self._update_by_rewrite(record_id, values)
            except NotFound:
                return _not_found(f"no incident {record_id!r}")
            return self._respond(request, "incidents", record_id, 200)

    def _update_by_rewrite(self, record_id: str, values: dict) -> None:
        """For stores without in-place updates: the layer and its change log are replaced
        together in one atomic write_many."""
        import pandas as pd

        inc = self.store.read("incidents")
        hit = inc["id"] == record_id
        if not hit.any():
            raise NotFound(record_id)
        now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        rows = []
        for k, v in values.items():
            old = inc.loc[hit, k].iloc[0]
            if old != v:
                rows.append({"record_id": record_id, "field": k, "old_value": old,
                             "new_value": v, "changed_at": now, "note": "api"})
                inc.loc[hit, k] = v
        if not rows:
            return
        log_name = CHANGE_LOGS["incidents"]
        log = self.store.read(log_name) if log_name in self.store.layers() else None
        new = pd.DataFrame(rows)
        log = new if log is None else pd.concat([pd.DataFrame(log.drop(
            columns=[c for c in log.columns if c == "geometry"])), new], ignore_index=True)
        log = gpd.GeoDataFrame(log, geometry=[None] * len(log), crs=STORAGE_CRS)
        self.store.write_many({"incidents": inc, log_name: log}, mode="replace")

    # POST /collections/inspections/items
    def create_inspection(self, request: Request, feature: InspectionIn) -> Response:
        from bienmoc.records.recording import record_inspection
        from bienmoc.storage.geopackage import DuplicateKey

        p = feature.properties
        position = None
        problems: list = []
        if feature.geometry is not None:
            position = tuple(float(c) for c in feature.geometry.coordinates[:2])
            try:
                problems, _ = self._distance_problems(shapely.Point(position), p.border,
                                                      "the measured position")
            except InvalidData as e:
                problems = [{"field": q.field or "geometry", "reason": q.reason}
                            for q in e.problems]
        if problems:  # report the record's other problems too, in one answer
            return _problems_response(422, "invalid inspection",
                                      problems + self._record_problems(p, position))
        for _attempt in range(WRITE_ATTEMPTS):
            with self._lock:
                try:
                    data = record_inspection(self.store, p.border, p.marker, p.date, p.team,
                                             p.condition, position=position, notes=p.notes,
                                             photos=p.photos, corrects=p.corrects)
                except InvalidData as e:
                    return _invalid(e, "invalid inspection")
                except DuplicateKey:
                    self.cache.refresh()
                    continue
                return self._respond(request, "inspections", str(data["id"].iloc[0]), 201)
        return _problems_response(409, "conflict", [{"field": "id", "reason": "could not pick "
                                  "a free id; try again"}])

    def _record_problems(self, p: InspectionProperties, position) -> list[dict]:
        """The record checks of an inspection (schema, marker, date), without writing."""
        from bienmoc.records.recording import reference_problems

        geom = shapely.Point(*position) if position is not None else None
        rec = gpd.GeoDataFrame({"date": [p.date], "border": [p.border], "marker": [p.marker],
                                "team": [p.team], "condition": [p.condition],
                                "notes": [p.notes], "photos": [p.photos],
                                "corrects": [p.corrects]}, geometry=[geom], crs=STORAGE_CRS)
        try:
            with self.cache.lock:
                borders = set(self.cache.layer("boundary").ids) or None
            data = validate("inspections", rec, borders=borders)
        except InvalidData as e:
            return [{"field": q.field, "reason": q.reason} for q in e.problems
                    if q.field != "geometry"]
        out = [{"field": q.field, "reason": q.reason}
               for q in reference_problems("inspections", data, self.store)]
        if p.date > _dt.date.today():
            out.append({"field": "date", "reason": f"{p.date} is in the future"})
        return out
