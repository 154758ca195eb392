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

Writes (``POST``/``PATCH``, bearer token) are served by :mod:`bienmoc.api.writes`; the
router's route class (:mod:`bienmoc.api.guard`) guards them (token, body size, media type)
before a body is read.
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import inspect
from typing import Literal, Optional
from urllib.parse import urlencode

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bienmoc.api.guard import ROLE_FOR_METHOD, _param_error, _route_class  # noqa: F401
from bienmoc.api.query import (Page, QueryCache, collection_schema, dumps,
                               page_feature_bytes, parse_interval, property_schema)
from bienmoc.api.responses import (GEOJSON, JSON, add_links, base_url, item_etag, not_found,
                                   page_etag, with_links)
from bienmoc.api.settings import Settings
from bienmoc.api.writes import (IncidentIn, IncidentPatch, InspectionIn, _codes,
                                add_write_routes)
from bienmoc.model.schema import SCHEMAS

__all__ = ["features_router", "COLLECTIONS", "CONFORMANCE", "landing_page",
           "IncidentIn", "IncidentPatch", "InspectionIn"]

#: Layers served as OGC API collections (provinces and the work/inspection logs are not).
COLLECTIONS = ("boundary", "markers", "gates", "works", "inspections", "incidents",
               "line_sections")
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]
#: The OpenAPI media type; its version parameter is that of the document (FastAPI: 3.1).
OPENAPI_JSON = "application/vnd.oai.openapi+json;version={}"
DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
MAX_OFFSET = 2**31 - 1
#: Attempts of a write whose freshly chosen id another process took first.
WRITE_ATTEMPTS = 5
_CRS_HEADER = {"Content-Crs": f"<{CRS84}>"}


def _json_response(obj, status: int = 200, media_type: str = JSON, headers=None) -> Response:
    return Response(dumps(obj), status, headers=headers, media_type=media_type)


def landing_page(request: Request, settings: Settings | None = None) -> Response:
    """The OGC API landing page (JSON) for the app serving ``request``."""
    base = base_url(request)
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
            {"href": f"{base}/api", "rel": "service-desc",
             "type": OPENAPI_JSON.format(request.app.openapi_version[:3]),
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
    r = APIRouter(route_class=_route_class(settings, store))
    tag = ["OGC API – Features"]
    lang_vi = settings.lang == "vi"
    # the writes first, undocumented: a POST is matched at the router's first routes instead
    # of after every read route (FastAPI's match is a linear scan, run twice per request:
    # measured ~40 % of a rejected POST's CPU); they answer only their own methods (see
    # OGCRoute.matches). The same routes are added again, documented, after the reads, so
    # /openapi.json (and /docs) keep their order.
    writer = add_write_routes(r, store, settings, cache, documented=False)

    @r.get("/", tags=tag, summary="Landing page (JSON; browsers get the HTML index)",
           response_class=JSONResponse)
    async def landing(request: Request,
                      f: Optional[Literal["json"]] = Query(None, description="json")):
        return landing_page(request, settings)

    @r.get("/api", tags=tag, include_in_schema=False)
    async def api_definition(request: Request):
        doc = request.app.openapi()
        # the media type names the document's own version; a client that does not accept
        # it but accepts JSON (GDAL asks for ...;version=3.0 or application/json) gets JSON
        media = OPENAPI_JSON.format(doc["openapi"][:3])
        accept = request.headers.get("accept", "").replace(" ", "").lower()
        if "application/json" in accept and media not in accept and "*/*" not in accept:
            media = JSON
        return _json_response(doc, media_type=media)

    @r.get("/conformance", tags=tag, summary="Conformance classes")
    async def conformance(f: Optional[Literal["json"]] = Query(None)):
        return _json_response({"conformsTo": CONFORMANCE})

    push = store if hasattr(store, "query_items") else None  # PostGIS: SQL, no copy
    # PostGIS reads waiting for a database slot wait here, in the event loop, not as threads
    # blocked on a lock (measured with py-spy --gil: 16 connections on one worker spent ~11 % of its
    # CPU waking threads that queued on the store's read semaphore)
    from bienmoc.storage.pgquery import READERS

    reads = asyncio.Semaphore(READERS)

    async def _docs(make):
        # PostGIS: the layers' counts and extents are SQL - in the threadpool, off the loop
        return await run_in_threadpool(make) if push is not None else make()

    def collection_doc(name: str, base: str) -> dict:
        if push is not None:
            n, box, t = push.layer_facts(name)
        else:
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
                    "type": "application/schema+json"},
                   {"href": f"{base}/collections/{name}/schema",
                    "rel": "http://www.opengis.net/def/rel/ogc/1.0/schema",
                    "type": "application/schema+json", "title": "feature schema"},
                   {"href": f"{base}/collections/{name}/schema?profile=geojson",
                    "rel": "describedby", "type": "application/schema+json",
                    "title": "schema of the GeoJSON features"}]}
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
        base = base_url(request)
        return _json_response({
            "links": [{"href": f"{base}/collections", "rel": "self", "type": JSON}],
            "collections": await _docs(lambda: [collection_doc(n, base) for n in COLLECTIONS])})

    for name in COLLECTIONS:
        _add_collection_routes(r, name, cache, collection_doc, tag, push, reads)

    @r.get("/collections/{collectionId}", tags=tag, summary="A collection",
           include_in_schema=False)
    async def collection_unknown(collectionId: str):
        return not_found(f"no collection {collectionId!r}; collections: "
                          f"{', '.join(COLLECTIONS)}")

    @r.get("/collections/{collectionId}/items", tags=tag, include_in_schema=False)
    async def items_unknown(collectionId: str):
        return await collection_unknown(collectionId)

    @r.get("/collections/{collectionId}/items/{featureId:path}", tags=tag,
           include_in_schema=False)
    async def item_unknown(collectionId: str, featureId: str):
        return await collection_unknown(collectionId)

    add_write_routes(r, store, settings, cache, writer=writer)
    return r


def _add_collection_routes(r: APIRouter, name: str, cache: QueryCache, collection_doc,
                           tag, push=None, reads: asyncio.Semaphore | None = None) -> None:
    """The collection's routes; ``push``: a store that answers items queries in SQL
    (:mod:`bienmoc.storage.pgquery`), used instead of the in-memory cache."""
    schema = SCHEMAS[name]
    temporal = name != "boundary"
    filters = _filter_params(name)
    allowed = {"bbox", "bbox-crs", "crs", "limit", "offset", "f"} | \
        ({"datetime"} if temporal else set()) | \
        {p.name for p in filters} | ({"after"} if push is not None else set())
    key = schema.key[0] if name == "boundary" else "id"

    async def collection(request: Request, f: Optional[Literal["json"]] = Query(None)):
        base = base_url(request)
        doc = await run_in_threadpool(collection_doc, name, base) if push is not None else \
            collection_doc(name, base)
        return _json_response(doc)

    r.add_api_route(f"/collections/{name}", collection, methods=["GET"], tags=tag,
                    summary=f"Collection {name}", name=f"collection_{name}")

    async def queryables(request: Request, f: Optional[Literal["json"]] = Query(None)):
        base = base_url(request)
        return _json_response({
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": f"{base}/collections/{name}/queryables", "type": "object",
            "title": schema.en, "properties": {p.name: _prop_schema(name, p.name)
                                               for p in filters}},
            media_type="application/schema+json")

    r.add_api_route(f"/collections/{name}/queryables", queryables, methods=["GET"], tags=tag,
                    summary=f"Queryable properties of {name}", name=f"queryables_{name}")

    async def feature_schema(request: Request, f: Optional[Literal["json"]] = Query(None),
                             profile: Optional[Literal["geojson"]] = Query(
                                 None, description="geojson: the schema of a GeoJSON Feature "
                                 "(properties nested), as GDAL's OAPIF driver reads it")):
        return _json_response(collection_schema(name, base_url(request), geojson=bool(profile)),
                              media_type="application/schema+json")

    r.add_api_route(f"/collections/{name}/schema", feature_schema, methods=["GET"], tags=tag,
                    summary=f"Schema of the features of {name} (every property typed)",
                    name=f"schema_{name}")

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
        if push is not None:
            after = request.query_params.get("after")
            if after is not None and not (after.isdigit() and len(after) < 19):
                return _param_error("after", "the fid after which the page starts (from a "
                                    "next link)")
            # in the threadpool: the event loop serves other requests while PostgreSQL works
            async with reads:
                got = await run_in_threadpool(
                    push.query_items, name, boxes=boxes, interval=interval, equals=equals,
                    limit=limit, offset=offset, after=None if after is None else int(after))
            matched = got.matched
            if not got.exact:  # the planner's estimate can be far below the truth (e.g. 43
                # for ~4,600 in a bbox of 1M rows before ANALYZE): never report fewer than
                # seen, and a full page always links to the next one
                n = len(got.ids)
                matched = max(int(matched), offset + n + (n == limit))
            page = Page(np.arange(len(got.ids)), matched)
            body = _items_body(request, name, page_feature_bytes(name, got), page, limit,
                               offset, after=got.fids[-1] if got.fids else None)
            headers = dict(_CRS_HEADER)
            if not got.exact:
                headers["Number-Matched"] = "estimated"
            return Response(body, 200, media_type=GEOJSON, headers=headers)
        with cache.lock:
            lay = cache.layer(name)
            page = lay.select(bbox=boxes, interval=interval, equals=equals, limit=limit,
                              offset=offset)
            body = _items_body(request, name, lay.feature_bytes(page.rows), page, limit,
                               offset)
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
        from bienmoc.records.versions import etag_matches

        if push is not None:
            async with reads:
                got = await run_in_threadpool(push.get_item, name, key, featureId)
            if not got.ids:
                return not_found(f"no feature {featureId!r} in collection {name!r}")
            body = add_links(request, name, featureId, page_feature_bytes(name, got)[0])
            etag = page_etag(name, got)
            inm = request.headers.get("if-none-match")
            if inm is not None and etag_matches(inm, etag.strip('"')):
                return Response(status_code=304, headers={"ETag": etag})
            return Response(body, 200, media_type=GEOJSON,
                            headers={**_CRS_HEADER, "ETag": etag})
        with cache.lock:
            lay = cache.layer(name)
            row = lay.pos.get(featureId)
            body = None if row is None else with_links(request, name, lay, row)
            etag = None if row is None else item_etag(name, lay, row)
        if body is None:
            return not_found(f"no feature {featureId!r} in collection {name!r}")
        # ETag: the record's content version; a PATCH sends it back in If-Match
        inm = request.headers.get("if-none-match")
        if inm is not None and etag_matches(inm, etag.strip('"')):
            return Response(status_code=304, headers={"ETag": etag})
        return Response(body, 200, media_type=GEOJSON, headers={**_CRS_HEADER, "ETag": etag})

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
    return property_schema(name, field)


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


def _page_url(request: Request, offset: int, limit: int, after: int | None = None) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items()
              if k not in ("offset", "limit", "after")]
    params += [("limit", str(limit)), ("offset", str(offset))]
    if after is not None:
        params.append(("after", str(after)))
    return f"{base_url(request)}{request.url.path}?{urlencode(params)}"


def _items_body(request: Request, name: str, feats: list[bytes], page, limit: int,
                offset: int, after: int | None = None) -> bytes:
    """The FeatureCollection page; ``after`` (stores paging in SQL): the page's last fid,
    put in the next link so that the next page is read by keyset, not by offset."""
    base = base_url(request)
    links = [{"href": str(request.url), "rel": "self", "type": GEOJSON, "title": "this page"},
             {"href": f"{base}/collections/{name}", "rel": "collection", "type": JSON}]
    if offset + limit < page.matched:
        links.append({"href": _page_url(request, offset + limit, limit, after), "rel": "next",
                      "type": GEOJSON, "title": "next page"})
    if offset > 0:
        links.append({"href": _page_url(request, max(0, offset - limit), limit),
                      "rel": "prev", "type": GEOJSON, "title": "previous page"})
    head = dumps({
        "type": "FeatureCollection", "numberMatched": int(page.matched),
        "numberReturned": int(len(page.rows)),
        "timeStamp": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": links})
    return head[:-1] + b',"features":[' + b",".join(feats) + b"]}"
