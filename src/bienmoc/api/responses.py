"""Answers shared by the read routes (:mod:`bienmoc.api.features`) and the write routes
(:mod:`bienmoc.api.writes`): problem lists, 404s, feature bodies with links."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse

from bienmoc.api.query import LayerIndex, dumps
from bienmoc.errors import InvalidData

__all__ = ["GEOJSON", "JSON", "problems_response", "invalid", "not_found", "base_url",
           "with_links"]

GEOJSON = "application/geo+json"
JSON = "application/json"


def problems_response(status: int, what: str, problems: list[dict]) -> JSONResponse:
    """``{"detail", "problems": [{"field", "reason"}]}`` with ``status``."""
    head = "; ".join(f"{p['field']}: {p['reason']}" if p.get("field") else p["reason"]
                     for p in problems[:5])
    return JSONResponse({"detail": f"{what}: {head}", "problems": problems}, status)


def invalid(e: InvalidData, what: str) -> JSONResponse:
    """A 422 naming the field and reason (English) of each problem of ``e``."""
    return problems_response(422, what, [{"field": p.field, "reason": p.reason}
                                         for p in e.problems])


def not_found(detail: str) -> JSONResponse:
    return JSONResponse({"code": "NotFound", "detail": detail}, 404)


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def item_etag(name: str, lay: LayerIndex, row: int) -> str:
    """The quoted ETag of a cached feature: :func:`bienmoc.records.versions.record_etag` of
    its stored content (the same tag a write transaction computes from its own read)."""
    from bienmoc.records.versions import quote, record_etag

    return quote(record_etag(name, lay.record(row), lay.geoms[row]))


def page_etag(name: str, page) -> str:
    """The quoted ETag of the one feature of a page a store read in SQL
    (:class:`bienmoc.storage.pgquery.ItemsPage`): its JSON-ready dates are read back as the
    timestamps every other path hashes, so the tag equals the GeoPackage path's."""
    import pandas as pd

    from bienmoc.model.schema import SCHEMAS
    from bienmoc.records.versions import quote, record_etag

    props = dict(page.props[0])
    for f in SCHEMAS[name].fields:
        if f.type == "date" and isinstance(props.get(f.name), str):
            props[f.name] = pd.Timestamp(props[f.name])
    return quote(record_etag(name, props, page.geoms[0]))


def with_links(request: Request, name: str, lay: LayerIndex, row: int) -> bytes:
    """One feature of a cached layer as GeoJSON, with its self and collection links."""
    return add_links(request, name, lay.ids[row], lay.feature_bytes([row])[0])


def add_links(request: Request, name: str, record_id, feature: bytes) -> bytes:
    """``feature`` (GeoJSON bytes) with its self and collection links."""
    base = base_url(request)
    fid = quote(str(record_id), safe="")
    links = dumps([
        {"href": f"{base}/collections/{name}/items/{fid}", "rel": "self", "type": GEOJSON},
        {"href": f"{base}/collections/{name}", "rel": "collection", "type": JSON}])
    return feature[:-1] + b',"links":' + links + b"}"
