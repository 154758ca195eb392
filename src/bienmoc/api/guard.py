"""The guard of the OGC API router: its route class, token and role checks, body limits.

Routes of :func:`bienmoc.api.features.features_router` are :func:`_route_class` routes: they turn
validation errors into OGC/field errors and guard writes (token and role, body size, media
type) before the body is read. Moved here from :mod:`bienmoc.api.features` unchanged, apart
from the token check running on the event loop while this process's copy of the users table
is fresh (:func:`bienmoc.users.auth_cached`), and lean routes (:mod:`bienmoc.api.lean`).
"""
from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import Match

from bienmoc.api.responses import problems_response
from bienmoc.api.settings import Settings
from bienmoc.users import auth_cached

__all__ = ["ROLE_FOR_METHOD"]

_WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
_JSON_TYPES = ("application/json", "application/geo+json", "application/merge-patch+json")


# -- errors and responses --------------------------------------------------------------------

def _param_error(name: str, reason: str) -> JSONResponse:
    return JSONResponse({"code": "InvalidParameterValue", "parameter": name,
                         "detail": f"parameter {name!r}: {reason}"}, 400)


def _validation_response(e: RequestValidationError, write: bool) -> JSONResponse:
    """FastAPI/pydantic errors -> 400 (bad parameter or unreadable JSON) / 422 (bad body)."""
    problems, status = [], 422 if write else 400
    for err in e.errors():
        loc = [str(x) for x in err.get("loc", ())]
        if err.get("type") == "json_invalid":
            return problems_response(400, "malformed JSON", [
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
    return problems_response(status, "invalid request body", problems)


class _TooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"request body larger than {limit} bytes")


#: The least role each write method needs (:data:`bienmoc.users.ROLES`): a field reporter adds
#: incidents and inspections, an editor also changes them.
ROLE_FOR_METHOD = {"POST": "reporter", "PATCH": "editor", "PUT": "editor", "DELETE": "admin"}

_WHAT_ROLE_DOES = {"POST": "add records", "PATCH": "change records", "PUT": "change records",
                   "DELETE": "delete records"}


def _auth_error(token: str | None, request: Request, store=None, methods=frozenset()
                ) -> JSONResponse | None:
    """None when the request's bearer token belongs to an enabled user whose role allows the
    route's method (the user is then ``request.state.user``); else the 401/403 answer.

    Tokens are looked up among the store's users (:func:`bienmoc.users.authenticate`); the
    server's shared ``BIENMOC_API_TOKEN`` (``token``), when set, is the admin "api"."""
    from bienmoc.users import authenticate, has_users

    if not token and (store is None or not has_users(store)):
        return JSONResponse({"detail": "writes are disabled: create users with 'bienmoc users "
                             "add NAME --role reporter|editor|admin' (or set BIENMOC_API_TOKEN "
                             "when starting the server), then send a token as "
                             "'Authorization: Bearer <token>'"}, 403)
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if not header or scheme.lower() != "bearer" or not given.strip():
        return JSONResponse({"detail": "missing bearer token: send 'Authorization: Bearer "
                             "<token>'"}, 401, headers={"WWW-Authenticate": "Bearer"})
    user = authenticate(store, given.strip(), legacy_token=token)
    if user is None:
        return JSONResponse({"detail": "invalid bearer token: unknown, or its user is "
                             "disabled"}, 401, headers={
            "WWW-Authenticate": 'Bearer error="invalid_token"'})
    method = next((m for m in ("DELETE", "PUT", "PATCH", "POST") if m in methods), "POST")
    needed = ROLE_FOR_METHOD[method]
    if not user.can(needed):
        return JSONResponse({"detail": f"user {user.name!r} has role {user.role!r}; to "
                             f"{_WHAT_ROLE_DOES[method]} here ({method}) the role "
                             f"{needed!r} or higher is needed",
                             "role": user.role, "required_role": needed}, 403)
    request.state.user = user
    return None


def _auth_refresh(token, request: Request, store, methods) -> JSONResponse | None:
    """:func:`_auth_error` after bringing this process's copy of the users table up to date
    (also when the legacy token alone is used, so the next requests are checked on the loop)."""
    from bienmoc.errors import StorageError
    from bienmoc.users import has_users

    try:
        has_users(store)
    except StorageError:  # a store that cannot be read: the check itself decides, as before
        pass              # (a legacy-token write still reaches the writer and its 503)
    return _auth_error(token, request, store, methods)


def _route_class(settings: Settings, store=None) -> type[APIRoute]:
    """Routes that turn validation errors into OGC/field errors and guard writes (token and
    role, body size, media type) before the body is read."""
    token = settings.api_token or None
    limit = int(settings.max_body_bytes)

    class OGCRoute(APIRoute):
        def matches(self, scope):
            if (self.methods & _WRITE_METHODS and scope.get("type") == "http"
                    and scope.get("method") not in self.methods):
                # a write route, registered before the reads (features_router), never
                # answers another method's request: the catch-all GET routes match every
                # write path, so a PUT gets the same 405 (Allow: GET, HEAD) as before
                return Match.NONE, {}
            # the landing page answers JSON clients only: browsers get the HTML index
            if self.path == "/" and scope.get("type") == "http":
                match, child = super().matches(scope)
                if match is Match.FULL and not _wants_json(scope):
                    return Match.NONE, {}
                return match, child
            return super().matches(scope)

        def get_route_handler(self):
            # a lean route (bienmoc.api.lean) validates its own parameters: called directly
            handler = (self.endpoint if getattr(self.endpoint, "lean", False)
                       else super().get_route_handler())
            write = bool(self.methods & _WRITE_METHODS)

            async def route(request: Request) -> Response:
                if write:
                    # the users table is cached per process (bienmoc.users): checked on the
                    # loop when the copy is fresh, in a thread when the store must be asked
                    if store is None or auth_cached(store):
                        denied = _auth_error(token, request, store, self.methods)
                    else:
                        denied = await run_in_threadpool(_auth_refresh, token, request,
                                                         store, self.methods)
                    if denied is not None:
                        return denied
                    length = request.headers.get("content-length")
                    if length is not None:
                        if not length.isdigit():
                            return problems_response(400, "bad request", [
                                {"field": None, "reason": "invalid Content-Length"}])
                        if int(length) > limit:
                            return problems_response(413, "body too large", [
                                {"field": None, "reason": f"body of {length} bytes; the limit"
                                 f" is {limit} bytes"}])
                    ctype = request.headers.get("content-type", "").split(";")[0].strip()
                    if ctype.lower() not in _JSON_TYPES:
                        return problems_response(415, "unsupported media type", [
                            {"field": None, "reason": f"send {' or '.join(_JSON_TYPES[:2])}"
                             f"{' (or merge-patch+json)' if 'PATCH' in self.methods else ''},"
                             f" not {ctype or 'no Content-Type'}"}])
                    request = Request(request.scope, _limited(request.receive, limit))
                try:
                    return await handler(request)
                except RequestValidationError as e:
                    return _validation_response(e, write)
                except _TooLarge:
                    return problems_response(413, "body too large", [
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
