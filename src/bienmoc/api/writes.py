"""The API's writes: request bodies and handlers that translate them into records calls.

``POST /collections/incidents/items`` (a GeoJSON Feature) ->
:func:`bienmoc.records.record_incident`, ``PATCH /collections/incidents/items/{id}`` (merge patch of ``status`` and ``description``) ->
:func:`bienmoc.records.update_incident`, ``POST /collections/inspections/items`` ->
:func:`bienmoc.records.record_inspection`. The rules live in :mod:`bienmoc.records` (the same
for imports and the CLI); here :class:`~bienmoc.errors.InvalidData` becomes a 422 with
``{"detail", "problems": [{"field", "reason"}]}`` and nothing is stored. ``?allow=RULE``
(repeatable) overrides a rule for a true exception; the override is stored on the record and
logged. The thresholds come from the server's settings (``BIENMOC_WRITE_MAX_DISTANCE_M``...).

A 201/200 is sent only after the store's transaction committed, i.e. once the record is durable
(fsynced; see :mod:`bienmoc.storage.geopackage`). Status changes are auditable: a PATCH changes
the incident in place and, in the same transaction, appends one row per changed field (old
value, new value, UTC time) to the ``incident_changes`` layer; nothing is ever deleted.
"""
from __future__ import annotations

import datetime as _dt
import re
import threading
from typing import Annotated, Any, Literal, Optional, Union
from urllib.parse import quote

import shapely
import shapely.geometry
from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from bienmoc.api.lean import SUPPORTED as LEAN_SUPPORTED, request_values
from bienmoc.api.query import QueryCache, frame_feature_bytes, page_feature_bytes
from bienmoc.api.responses import (GEOJSON, add_links, base_url, invalid, item_etag,
                                   not_found, page_etag, problems_response, with_links)
from bienmoc.api.settings import Settings
from bienmoc.errors import InvalidData, NotFound
from bienmoc.model.dates import parse_date
from bienmoc.model.schema import FoundCondition, IncidentKind, IncidentStatus, InspectionTeam
from bienmoc.storage.groupcommit import GroupWriter

__all__ = ["IncidentIn", "IncidentPatch", "InspectionIn", "add_write_routes", "rule_settings"]


# -- request bodies (documented at /docs) ----------------------------------------------------

# Bounded numbers: a finite float (JSON integers of any size arrive as ints and are converted
# by pydantic; beyond the bounds they are refused with 422, never an OverflowError later).
Coordinate = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-20_000, le=20_000)]


def _lon_lat(v: list) -> list:
    if not 2 <= len(v) <= 3:
        raise ValueError("a position is [longitude, latitude] or [longitude, latitude, "
                         "elevation]")
    if not -180 <= v[0] <= 180:
        raise ValueError(f"longitude {v[0]} is outside -180..180 (CRS84: longitude first)")
    if not -90 <= v[1] <= 90:
        raise ValueError(f"latitude {v[1]} is outside -90..90 (CRS84: longitude first)")
    return v


Position = Annotated[list[Coordinate], Field(
    min_length=2, max_length=3, description="[longitude, latitude] or [longitude, latitude, "
    "elevation m] (CRS84)", json_schema_extra={"prefixItems": [
        {"type": "number", "minimum": -180, "maximum": 180},
        {"type": "number", "minimum": -90, "maximum": 90}]}), AfterValidator(_lon_lat)]
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
    bbox: Optional[Annotated[list[Coordinate], Field(min_length=4, max_length=6)]] = Field(
        None, description="ignored")
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
    bbox: Optional[Annotated[list[Coordinate], Field(min_length=4, max_length=6)]] = Field(
        None, description="ignored")
    geometry: Optional[PointGeometry] = None
    properties: InspectionProperties


class IncidentPatch(BaseModel):
    """JSON merge patch of an incident: its status and/or description."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "status": "verifying"}})
    status: Optional[_codes(IncidentStatus)] = None
    description: Optional[Annotated[str, Field(max_length=4000)]] = None


_bearer = HTTPBearer(auto_error=False, description="a user's token (`bienmoc users add NAME "
                     "--role reporter|editor|admin`) or the server's BIENMOC_API_TOKEN (the "
                     "admin 'api'). POST needs the role reporter or higher, PATCH editor.")


async def _documented_bearer(cred: Annotated[Optional[HTTPAuthorizationCredentials],
                                       Depends(_bearer)] = None) -> None:
    """Documents the bearer scheme in OpenAPI; the check itself runs before the body is read
    (see ``_route_class``)."""


def rule_settings(settings: Settings):
    """The entry rules' thresholds from the server's settings (``write_max_distance_m`` and
    the ``write_rules`` mapping of :class:`~bienmoc.records.RuleSettings` fields)."""
    import dataclasses

    from bienmoc.records import RuleSettings

    known = {f.name for f in dataclasses.fields(RuleSettings)} - {"today"}
    unknown = sorted(set(settings.write_rules) - known)
    if unknown:
        raise ValueError(f"BIENMOC_WRITE_RULES: unknown setting(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(known))}")
    return RuleSettings(**{"incident_max_distance_m": float(settings.write_max_distance_m),
                           **settings.write_rules})


Allow = Annotated[list[str], Query(description="rules to override for a true exception "
                                   "(e.g. far, displacement); stored on the record")]


IdempotencyKey = Annotated[Optional[str], Header(
    alias="Idempotency-Key", min_length=1, max_length=200,
    description="A client's token for this write: a retry with the same key returns the "
    "first answer (the original 201) and stores nothing new.")]


IfMatch = Annotated[Optional[str], Header(
    alias="If-Match", max_length=2000,
    description="The ETag of the copy being changed (GET .../items/{id} answers it): the "
    "change is applied only if the incident still has that ETag, else 412. `*` matches any "
    "version.")]


def _user_name(request: Request) -> str | None:
    """The name of the user the route class authenticated (:func:`bienmoc.users.authenticate`)."""
    user = getattr(request.state, "user", None)
    return user.name if user is not None else None


class _Writer:
    """Translate requests into :mod:`bienmoc.records` calls. A 201 is built from the record
    as written; a PATCH answers from the refreshed cache.

    Writes of all request threads go through one :class:`~bienmoc.storage.groupcommit.GroupWriter`
    per process: concurrent requests share one transaction and one fsync (each in its own
    savepoint, so one invalid record fails alone), and every 201 is sent after the commit.
    """

    def __init__(self, store, settings: Settings, cache: QueryCache):
        self.store, self.cache = store, cache
        self.rules = rule_settings(settings)
        self.require_if_match = settings.require_if_match
        self.group = GroupWriter(store, lazy_lock=settings.write_lazy_lock,
                                 gather_s=settings.write_gather_ms / 1000) if hasattr(
            store, "transaction") else None
        self._lock = threading.Lock()  # stores without transactions: one write at a time
        self.documented_post = None  # the documented POST route (add_write_routes)

    def _write(self, fn):
        """``fn(tx_or_store)`` through the group writer (or under the lock)."""
        if self.group is not None:
            return self.group.run(fn)
        with self._lock:
            return fn(self.store)

    async def _write_async(self, fn):
        """:meth:`_write` awaited: from the group writer, or in the threadpool (the lock)."""
        if self.group is not None:
            return await self.group.run_async(fn)
        return await run_in_threadpool(self._write, fn)

    def _respond(self, request: Request, name: str, record_id: str, status: int) -> Response:
        if hasattr(self.store, "get_item"):  # a store answering in SQL (PostGIS): no cache
            got = self.store.get_item(name, "id", record_id)
            body = add_links(request, name, record_id, page_feature_bytes(name, got)[0])
            etag = page_etag(name, got)
        else:
            with self.cache.lock:
                self.cache.refresh()
                lay = self.cache.layer(name)
                body = with_links(request, name, lay, lay.pos[record_id])
                etag = item_etag(name, lay, lay.pos[record_id])
        headers = {"ETag": etag}
        if status == 201:
            headers["Location"] = (f"{base_url(request)}/collections/{name}/items/"
                                   f"{quote(record_id, safe='')}")
        return Response(body, status, headers=headers, media_type=GEOJSON)

    def _created(self, request: Request, name: str, data) -> Response:
        """201 with the record as stored, serialised from the written (validated, canonical)
        frame - no re-read: the cache picks the row up at its next refresh. ``data`` is the
        written frame or an already serialised ``(id, feature bytes)`` pair."""
        record_id, feature = data if isinstance(data, tuple) else (
            str(data["id"].iloc[0]), frame_feature_bytes(name, data)[0])
        location = f"{base_url(request)}/collections/{name}/items/{quote(record_id, safe='')}"
        return Response(add_links(request, name, record_id, feature), 201,
                        headers={"Location": location}, media_type=GEOJSON)

    async def create_incident(self, request: Request, feature: IncidentIn, allow: list[str],
                              key: str | None = None) -> Response:
        """On the event loop: the geometry and the answer are microseconds of work; the write
        is awaited from the group writer (no thread parked on it), or run in the threadpool
        for a store without transactions (one write at a time under the lock)."""
        from bienmoc.records import record_incident, record_incidents

        p = feature.properties
        try:
            geom = shapely.geometry.shape(feature.geometry.model_dump())
        except Exception as e:  # noqa: BLE001 - any shapely construction error
            return problems_response(422, "invalid incident", [
                {"field": "geometry", "reason": f"not a valid geometry: {e}"}])
        fields = {"kind": p.kind, "geometry": geom, "reported_date": p.reported_date,
                  "status": p.status, "border": p.border, "province": p.province,
                  "occurred_date": p.occurred_date, "description": p.description}
        user = _user_name(request)
        try:
            if self.group is not None and key is None:
                # concurrent POSTs waiting in the same group are validated and written
                # together (one vectorised pass, one user per batch: the key names it); a bad
                # one is retried alone and fails alone
                def batch(tx, items, allow=tuple(allow)):
                    data = record_incidents(tx, items, allow=allow, settings=self.rules,
                                            user=user)
                    # serialised for every caller at once (one vectorised pass)
                    return list(zip(map(str, data["id"]), frame_feature_bytes("incidents",
                                                                              data)))

                data = await self.group.run_batched_async(("incidents", tuple(allow), user),
                                                          fields, batch)
            else:
                def one(tx):
                    return record_incident(
                        tx, p.kind, geom, reported_date=p.reported_date, status=p.status,
                        border=p.border, province=p.province, occurred_date=p.occurred_date,
                        description=p.description, allow=allow, settings=self.rules,
                        idempotency_key=key, user=user)

                data = await self._write_async(one)
        except InvalidData as e:
            return invalid(e, "invalid incident")
        return self._created(request, "incidents", data)

    def patch_incident(self, request: Request, record_id: str, patch: IncidentPatch,
                       allow: list[str], if_match: str | None = None) -> Response:
        from bienmoc.records import update_incident
        from bienmoc.records.versions import StaleRecord, quote

        if if_match is None and self.require_if_match:
            return problems_response(428, "precondition required", [
                {"field": "If-Match", "reason": "this server requires If-Match with the "
                 "incident's ETag (from GET /collections/incidents/items/{id})"}])

        # only the fields the client sent (a JSON merge patch); what may change is the
        # library's rule (update_incident refuses an empty change or a missing status)
        values = {k: getattr(patch, k) for k in IncidentPatch.model_fields
                  if k in patch.model_fields_set}
        user = _user_name(request)
        try:
            # the If-Match comparison happens inside the write transaction (no race)
            self._write(lambda tx: update_incident(tx, record_id, values, allow=allow,
                                                   settings=self.rules, note="api",
                                                   if_match=if_match, user=user))
        except NotFound:
            return not_found(f"no incident {record_id!r}")
        except StaleRecord as e:
            r = problems_response(412, "precondition failed", [
                {"field": "If-Match", "reason": f"incident {record_id} changed since that "
                 "copy was read: read it again (its current ETag is in this answer's ETag "
                 "header) and apply the change to the new copy"}])
            r.headers["ETag"] = quote(e.current)
            return r
        except InvalidData as e:
            return invalid(e, "invalid change")
        return self._respond(request, "incidents", record_id, 200)

    async def create_inspection(self, request: Request, feature: InspectionIn,
                                allow: list[str], key: str | None = None) -> Response:
        """On the event loop like :meth:`create_incident`: the write is awaited."""
        from bienmoc.records import record_inspection

        p = feature.properties
        position = (tuple(float(c) for c in feature.geometry.coordinates[:2])
                    if feature.geometry is not None else None)
        user = _user_name(request)
        try:
            data = await self._write_async(lambda tx: record_inspection(
                tx, p.border, p.marker, p.date, p.team, p.condition, position=position,
                notes=p.notes, photos=p.photos, corrects=p.corrects, allow=allow,
                settings=self.rules, idempotency_key=key, user=user))
        except InvalidData as e:
            return invalid(e, "invalid inspection")
        return self._created(request, "inspections", data)


#: Serve POST /collections/incidents/items through the lean copy (bienmoc.api.lean); False:
#: through FastAPI's own handler of the documented route (the tests compare the two).
LEAN_POST = True


def add_write_routes(r: APIRouter, store, settings: Settings, cache: QueryCache, *,
                     writer: "_Writer | None" = None, documented: bool = True) -> "_Writer":
    """Add the write routes to the features router ``r`` (whose route class checks the token,
    body size and media type first); returns their :class:`_Writer` (pass it as ``writer`` to
    add the same routes again over the same group writer). ``documented=False``: routes
    left out of OpenAPI (``features_router`` adds the writes once undocumented before the
    reads, for a fast match, and once documented after them, in the document's order)."""
    writer = writer or _Writer(store, settings, cache)
    wtag = ["OGC API – Features: writes"]
    auth = [Depends(_documented_bearer)]
    created = {201: {"description": "Created: the record is stored durably",
                     "content": {GEOJSON: {}}},
               401: {"description": "Missing, unknown or disabled bearer token"},
               403: {"description": "The token's role may not do this (POST: reporter, "
                     "PATCH: editor or higher), or writes are disabled (no users, no "
                     "BIENMOC_API_TOKEN)"},
               413: {"description": "Body too large"},
               415: {"description": "Not JSON"},
               422: {"description": "Invalid: `problems` names each field"}}

    if documented or not (LEAN_POST and LEAN_SUPPORTED):
        @r.post("/collections/incidents/items", tags=wtag, include_in_schema=documented,
                status_code=201, dependencies=auth,
                summary="Report an incident (GeoJSON Feature)", response_class=Response,
                responses=created)
        async def create_incident(request: Request, feature: Annotated[IncidentIn, Body(
                media_type=GEOJSON)], allow: Allow = [],
                idempotency_key: IdempotencyKey = None) -> Response:
            return await writer.create_incident(request, feature, allow, idempotency_key)

        writer.documented_post = r.routes[-1]  # its parameters serve the lean copy
    else:
        # the lean copy, matched first: the documented route's parameters, validated by
        # FastAPI's own functions without its dependency solving (bienmoc.api.lean)
        @r.post("/collections/incidents/items", include_in_schema=False, status_code=201,
                response_class=Response)
        async def create_incident_lean(request: Request) -> Response:
            v = await request_values(request, writer.documented_post)
            return await writer.create_incident(request, v["feature"], v["allow"],
                                                v["idempotency_key"])

        create_incident_lean.lean = True  # the route class calls it directly

    @r.patch("/collections/incidents/items/{featureId}", tags=wtag, include_in_schema=documented,
             dependencies=auth,
             summary="Change an incident's status or description (JSON merge patch)",
             response_class=Response,
             responses={**{k: v for k, v in created.items() if k != 201},
                        200: {"description": "The changed incident (its new ETag in the "
                              "ETag header)", "content": {GEOJSON: {}}},
                        404: {"description": "No such incident"},
                        412: {"description": "If-Match does not match: the incident changed "
                              "since it was read (the current ETag is in the ETag header)"},
                        428: {"description": "If-Match missing on a server that requires it "
                              "(BIENMOC_REQUIRE_IF_MATCH)"}})
    def patch_incident(request: Request,
                       featureId: Annotated[str, Path(max_length=64)],
                       patch: Annotated[IncidentPatch, Body(
                           media_type="application/merge-patch+json")],
                       allow: Allow = [], if_match: IfMatch = None) -> Response:
        return writer.patch_incident(request, featureId, patch, allow, if_match)

    @r.post("/collections/inspections/items", tags=wtag, include_in_schema=documented,
             status_code=201, dependencies=auth,
            summary="Record an inspection of a marker (GeoJSON Feature)",
            response_class=Response, responses=created)
    async def create_inspection(request: Request, feature: Annotated[InspectionIn, Body(
            media_type=GEOJSON)], allow: Allow = [],
            idempotency_key: IdempotencyKey = None) -> Response:
        return await writer.create_inspection(request, feature, allow, idempotency_key)
    return writer
