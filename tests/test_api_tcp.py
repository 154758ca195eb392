"""bienmoc.api.tcp: TCP_NODELAY on the connections of a multi-worker uvicorn server."""
from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_nodelay_is_set_on_connections_of_a_socket_bound_as_uvicorn_binds_it():
    from bienmoc.api.tcp import set_nodelay

    got = {}

    async def main():
        lsock = socket.socket(family=socket.AF_INET)  # uvicorn's bind_socket (workers > 1)
        lsock.bind(("127.0.0.1", 0))
        done = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport):
                s = transport.get_extra_info("socket")
                got["asyncio"] = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                got["set"] = set_nodelay(transport)
                got["after"] = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                transport.close()
                done.set_result(None)

        server = await asyncio.get_running_loop().create_server(Probe, sock=lsock)
        _, writer = await asyncio.open_connection(*lsock.getsockname())
        await asyncio.wait_for(done, 10)
        writer.close()
        server.close()

    asyncio.run(main())
    assert got["asyncio"] == 0  # what asyncio leaves on such a socket: Nagle on
    assert got["set"] is True and got["after"] != 0


def test_a_two_worker_server_with_nodelay_answers_keep_alive_requests_quickly(tmp_path):
    """The real server (uvicorn --workers 2 --http bienmoc.api.tcp:NoDelay) answers small
    requests on one keep-alive connection without the ~40 ms delayed-ACK stall."""
    import httpx

    from bienmoc.demo import seed_store
    from bienmoc.storage import GeoPackageStore

    store = tmp_path / "s.gpkg"
    seed_store(GeoPackageStore(store))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bienmoc.api:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--workers", "2", "--log-level", "warning",
         "--http", "bienmoc.api.tcp:NoDelay"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": SRC, "BIENMOC_STORE": str(store),
             "BIENMOC_WARM": "0"})
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/conformance", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        with httpx.Client(base_url=base) as c:
            ts = []
            for _ in range(12):
                t = time.perf_counter()
                assert c.get("/collections/markers/items?limit=5").status_code == 200
                ts.append(time.perf_counter() - t)
        # without TCP_NODELAY every answer after the first few waits for the delayed ACK
        # (>= 40 ms each on Linux); the median must stay well below it
        assert sorted(ts)[len(ts) // 2] < 0.035, ts
    finally:
        proc.terminate()
        proc.wait(30)


def test_coalescing_transport_sends_head_and_body_in_one_write():
    """Over a real asyncio TCP connection: uvicorn's two writes of a small response (head,
    then body) reach the socket as one write; a lone write is sent at the end of the loop
    step; a close sends what is held first; a large write is not held. The client receives
    exactly the bytes written, in order."""
    from bienmoc.api.tcp import HOLD_BYTES, _Coalescing

    writes: list[bytes] = []
    got = {}

    async def main():
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        class Server(asyncio.Protocol):
            def connection_made(self, transport):
                real_write = transport.write

                def spy(data):  # records what reaches the real transport, then sends it
                    writes.append(bytes(data))
                    real_write(data)

                transport.write = spy
                t = _Coalescing(transport, loop)
                t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
                t.write(b"ok")            # joined with the head: one write
                t.write(b"lone")          # held until the end of this step
                loop.call_soon(self.more, t)

            def more(self, t):
                got["after_step"] = list(writes)
                big = b"x" * (HOLD_BYTES + 1)
                t.write(big)              # not held
                got["big_at_once"] = writes[-1] == big
                t.write(b"tail")
                t.close()                 # flushes "tail" first
                done.set_result(None)

        server = await loop.create_server(Server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.wait_for(done, 10)
        got["bytes"] = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        server.close()

    asyncio.run(main())
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"
    assert writes[0] == head + b"ok"
    assert got["after_step"] == [head + b"ok", b"lone"]
    assert got["big_at_once"]
    assert writes[-1] == b"tail"
    assert got["bytes"] == head + b"ok" + b"lone" + b"x" * (HOLD_BYTES + 1) + b"tail"
