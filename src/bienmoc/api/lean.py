"""A hot route's parameters without FastAPI's dependency solving, validated by FastAPI itself.

``POST /collections/incidents/items`` is the API's busiest write. FastAPI's per-request work
for it - solving the (documentation-only) bearer dependency, walking every parameter's
annotation, then validating - measured ~35 % of the event loop's CPU for a POST refused with
422 (py-spy, 1 worker). :func:`request_values` does the same work for one route with the same
pieces FastAPI uses: the route's own ``dependant`` fields, FastAPI's
``request_params_to_args`` / ``request_body_to_args`` (hence the same values and the same error
dicts, locations and messages), the same JSON decoding and the same body errors; it only skips
the generic machinery, and a query string or header group that is absent (the default then,
as FastAPI would give).

The documented route (with the full signature, in /openapi.json) stays registered; the lean
copy registered before it answers (see ``bienmoc.api.features.features_router``).
"""
from __future__ import annotations

import copy
import inspect
import json
from typing import Any

from fastapi.dependencies.utils import request_body_to_args, request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request

__all__ = ["request_values", "SUPPORTED"]

#: Whether this FastAPI's functions are the ones :func:`request_values` calls (their
#: signatures changed over FastAPI versions; pyproject allows older ones): else the route is
#: served by FastAPI's own handler (bienmoc.api.writes.add_write_routes).
SUPPORTED = (list(inspect.signature(request_body_to_args).parameters)
             == ["body_fields", "received_body", "embed_body_fields"]
             and list(inspect.signature(request_params_to_args).parameters)
             == ["fields", "received_params"])

_MISSING = object()


def _defaults(fields) -> dict[str, Any]:
    # what FastAPI gives a parameter that is not sent and not required: a copy of the default
    return {f.name: copy.deepcopy(f.field_info.default) for f in fields}


async def request_values(request: Request, route: APIRoute) -> dict[str, Any]:
    """The values of ``route``'s query, header and body parameters for ``request`` (by
    parameter name), or :class:`RequestValidationError` with FastAPI's errors, in FastAPI's
    order (query, headers, body). The route has no path or cookie parameters and its body is
    JSON (the route class refused other media types with 415 already)."""
    dep = route.dependant
    assert not dep.path_params and not dep.cookie_params, "a lean route has none"
    values: dict[str, Any] = {}
    errors: list[Any] = []
    # the body first, as FastAPI reads it: a JSON error is raised before any parameter's
    try:
        body: Any = _MISSING
        raw = await request.body()
        if raw:
            body = json.loads(raw)
    except json.JSONDecodeError as e:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body", e.pos),
                                       "msg": "JSON decode error", "input": {},
                                       "ctx": {"error": e.msg}}], body=e.doc) from e
    except HTTPException:
        raise
    except Exception as e:  # noqa: BLE001 - FastAPI's answer to an unreadable body
        raise HTTPException(400, "There was an error parsing the body") from e
    if request.scope.get("query_string"):
        v, e = request_params_to_args(dep.query_params, request.query_params)
        values.update(v)
        errors += e
    else:
        values.update(_defaults(dep.query_params))
    names = {f.alias.lower() for f in dep.header_params}
    if any(k.decode("latin-1") in names for k, _ in request.scope["headers"]):
        v, e = request_params_to_args(dep.header_params, request.headers)
        values.update(v)
        errors += e
    else:
        values.update(_defaults(dep.header_params))
    from fastapi._compat import Undefined

    v, e = await request_body_to_args(dep.body_params, Undefined if body is _MISSING else body,
                                      route._embed_body_fields)
    values.update(v)
    errors += e
    if errors:
        raise RequestValidationError(errors, body=None if body is _MISSING else body)
    return values
