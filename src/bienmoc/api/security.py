"""Security headers on every response, the pages' Content-Security-Policy, safe error bodies.

One ASGI middleware (:class:`SecurityHeaders`) adds to *every* response — pages, JSON, GeoJSON,
static files, ``/openapi.json``, ``/docs``, errors, even an unexpected exception's 500 —

* ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer``;
* a ``Content-Security-Policy``: the strict default :data:`DEFAULT_CSP` unless the route set
  its own (the map pages and ``/docs`` do, through :func:`page_csp`). Every policy forbids
  framing (``frame-ancestors 'none'``), plugins, ``<base>`` and forms to other sites.

Inline scripts: the map pages are Folium output, whose map-building code is an inline
``<script>`` that differs per page (element ids, data URL). Rather than a per-response nonce,
the policy lists the **SHA-256 hash of each inline script** of the page (CSP Level 2 hash
sources). Pages are cached with an ETag and answered ``304``; a ``304`` refreshes the stored
response's headers, so a nonce in a new header would no longer match the nonce in the body
the browser kept — hashes stay valid for exactly the body they were computed from, and a
script injected into the page (different text) cannot run. ``'unsafe-inline'`` and
``'unsafe-eval'`` are never allowed for scripts.

Styles: the inline ``<style>`` elements Folium writes are allowed by their hashes as well. Style
*attributes* are not needed by our markup (the legends use classes); Leaflet positions its
panes through the CSSOM (``element.style.x = …``), which CSP does not govern. So pages need no
``'unsafe-inline'`` at all. Nor does ``/docs``: Swagger UI is served from the vendored bundle
with an external initializer script, and its React components style through the CSSOM.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import re
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders

__all__ = ["SecurityHeaders", "DEFAULT_CSP", "SECURITY_HEADERS", "page_csp", "inline_hashes",
           "sanitize"]

log = logging.getLogger("bienmoc.api")

#: Headers every response carries (set by the middleware, overriding a route's).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_SECURITY_RAW = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                 for k, v in SECURITY_HEADERS.items()]
_OURS = {k for k, _ in _SECURITY_RAW} | {b"content-security-policy"}
_COMMON = ("object-src 'none'; base-uri 'none'; form-action 'self'; "
           "frame-ancestors 'none'")
#: The policy of responses that set none: the app's own resources only, nothing inline.
DEFAULT_CSP = (f"default-src 'self'; script-src 'self'; style-src 'self'; "
               f"img-src 'self' data:; connect-src 'self'; {_COMMON}")

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()
                                         ).decode("ascii") + "'"


def inline_hashes(html: str) -> tuple[list[str], list[str]]:
    """CSP hash sources of the inline ``<script>`` (without ``src``) and ``<style>`` elements
    of ``html``, in order, without repeats. The browser hashes the element's text exactly as
    written (script and style are raw-text elements: no entity decoding)."""
    scripts = [_sha256(body) for attrs, body in _SCRIPT.findall(html)
               if not re.search(r"\bsrc\s*=", attrs, re.IGNORECASE)]
    styles = [_sha256(body) for body in _STYLE.findall(html)]
    return list(dict.fromkeys(scripts)), list(dict.fromkeys(styles))


def _origin(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s) URL template, else None."""
    if not url:
        return None
    parts = urlsplit(url.replace("{s}", "a").replace("{z}", "0").replace("{x}", "0")
                     .replace("{y}", "0"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.netloc.split("@")[-1]
    if "{s}" in url:  # Leaflet subdomains a/b/c
        host = "*." + host.split(".", 1)[1] if "." in host else host
    return f"{parts.scheme}://{host}"


def page_csp(html: str, *, img: tuple[str, ...] = (), script: tuple[str, ...] = (),
             style: tuple[str, ...] = (), unsafe_inline_styles: bool = False) -> str:
    """The policy of one HTML page: the app's own resources, ``html``'s inline scripts and
    styles by hash, plus the extra sources given (e.g. a tile server's origin for images:
    any URL template is reduced to its origin)."""
    scripts, styles = inline_hashes(html)
    img_src = ["'self'", "data:"] + [o for o in (_origin(u) for u in img) if o]
    style_src = ["'self'", *style] + (["'unsafe-inline'"] if unsafe_inline_styles else styles)
    script_src = ["'self'", *script, *scripts]
    return (f"default-src 'self'; script-src {' '.join(script_src)}; "
            f"style-src {' '.join(style_src)}; img-src {' '.join(dict.fromkeys(img_src))}; "
            f"connect-src 'self'; {_COMMON}")


class SecurityHeaders:
    """Pure ASGI middleware (no response buffering): adds :data:`SECURITY_HEADERS` and a CSP
    to every response, and turns an exception that escapes the app into a 500 whose body
    says nothing about the server (the exception is re-raised for the server's log)."""

    def __init__(self, app, csp: str = DEFAULT_CSP):
        self.app, self.csp = app, csp
        self._csp_raw = csp.encode("latin-1")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                raw = message.get("headers") or []
                if not any(k.lower() in _OURS for k, _ in raw):
                    # the usual answer (no security header of its own): ours appended, the
                    # same list MutableHeaders builds below, without its four scans
                    message["headers"] = [*raw, *_SECURITY_RAW, (b"content-security-policy",
                                                                 self._csp_raw)]
                else:
                    headers = MutableHeaders(scope=message)
                    for k, v in SECURITY_HEADERS.items():
                        headers[k] = v
                    if "content-security-policy" not in headers:
                        headers["Content-Security-Policy"] = self.csp
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if started:
                raise
            body = b'{"detail":"internal server error"}'
            await send_with_headers({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            raise


_ABS_PATH = re.compile(r"(?<![\w.:/])(?:[A-Za-z]:\\|/)(?:[^\s'\"/\\:,;()]+[/\\])+"
                       r"[^\s'\"/\\:,;()]*")


def sanitize(text: str, *secrets: str) -> str:
    """``text`` without filesystem paths: each of ``secrets`` (e.g. the store's path) and
    anything that looks like an absolute path become ``…``."""
    for s in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(s, "…")
    return _ABS_PATH.sub("…", text)
