"""uvicorn's HTTP protocol with ``TCP_NODELAY`` on every connection, for ``--workers N``.

With several workers uvicorn binds the listening socket itself as ``socket.socket(AF_INET)``
(protocol number 0), and asyncio sets ``TCP_NODELAY`` only on sockets whose protocol number is
``IPPROTO_TCP`` - so in a multi-worker server Nagle's algorithm holds a response's body until
the client acknowledges its headers, and a keep-alive client that delays its ACK waits ~40 ms
for every answer (measured: a 5 KB items page took 44 ms instead of 4 ms over one httpx
connection to ``--workers 2``; 4 ms with one worker). Run::

    uvicorn bienmoc.api:create_app --factory --workers 2 --http bienmoc.api.tcp:NoDelay

(``server/README.md``). The class is uvicorn's own "auto" choice (httptools when installed,
else h11) with one override; nothing else changes.
"""
from __future__ import annotations

import contextlib
import importlib
import socket

from uvicorn.config import HTTP_PROTOCOLS

__all__ = ["NoDelay", "set_nodelay"]


def _auto_protocol() -> type:
    try:
        import httptools  # noqa: F401  (uvicorn's "auto" prefers it)

        path = HTTP_PROTOCOLS["httptools"]
    except ImportError:
        path = HTTP_PROTOCOLS["h11"]
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def set_nodelay(transport) -> bool:
    """Set ``TCP_NODELAY`` on a TCP transport's socket; False when it is not TCP."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return True
    return False


class NoDelay(_auto_protocol()):  # type: ignore[misc]
    """uvicorn's HTTP/1.1 protocol whose connections send without Nagle's delay."""

    def connection_made(self, transport) -> None:
        set_nodelay(transport)
        super().connection_made(transport)
