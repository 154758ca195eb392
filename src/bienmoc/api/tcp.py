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

It also sends a response's head and body in one ``send()``: uvicorn writes the status line and
headers when the app sends ``http.response.start`` and the body at ``http.response.body``, two
writes - two syscalls and, with Nagle off, two TCP segments for every small answer (a 422 or a
201 of a POST). :class:`_Coalescing` holds one write until the next write (joined: one
syscall) or the end of the event loop's current step (``call_soon``), so bytes and their order
are unchanged and nothing waits longer than the step that wrote it.
"""
from __future__ import annotations

import asyncio
import contextlib
import importlib
import socket

from uvicorn.config import HTTP_PROTOCOLS

__all__ = ["NoDelay", "set_nodelay"]

#: Writes at most this long are held to be joined with the next one (larger ones go at once).
HOLD_BYTES = 16384


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


class _Coalescing:
    """A transport whose small writes are joined with the next write of the same loop step.

    Hand-written (a dozen lines) because neither uvicorn nor asyncio offers it: uvicorn writes
    each ASGI message as it comes and asyncio transports send at once when the socket is
    writable. Everything but writing is the real transport's (attributes are delegated);
    held bytes are written before a close or ``write_eof``."""

    __slots__ = ("_transport", "_held", "_loop")

    def __init__(self, transport, loop):
        self._transport, self._held, self._loop = transport, None, loop

    def write(self, data) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + bytes(data))
        elif len(data) <= HOLD_BYTES and not self._transport.is_closing():
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def writelines(self, chunks) -> None:
        self.write(b"".join(chunks))

    def flush(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held or b"")

    def __getattr__(self, name):
        return getattr(self._transport, name)


class NoDelay(_auto_protocol()):  # type: ignore[misc]
    """uvicorn's HTTP/1.1 protocol whose connections send without Nagle's delay, a response's
    head and body in one write."""

    def connection_made(self, transport) -> None:
        set_nodelay(transport)
        super().connection_made(_Coalescing(transport, asyncio.get_running_loop()))
