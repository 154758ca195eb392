"""Group commit: many threads' writes in one transaction and one fsync.

``GroupWriter(store).run(fn)`` is called from any number of threads with ``fn(tx)``, a callable
taking a :class:`~bienmoc.storage.base.Transaction` (e.g. a ``record_*`` function bound to its
arguments). One writer thread takes every call that is waiting, opens one store transaction,
runs each ``fn`` in its own SAVEPOINT (one that raises is undone alone and gets its exception;
the others go on), commits once - one fsync for the whole group - and only then hands each
caller its result or exception. A caller's write is therefore durable when ``run`` returns,
and under load the cost of the fsync is shared by every write of the group.

The queue is plain threads (``queue.SimpleQueue`` + ``concurrent.futures.Future``): the wait of
one write is short and bounded by the store's lock timeout, which a thread pool or asyncio would
not shorten. An asyncio caller (the API's POST) awaits the same future through
:meth:`GroupWriter.run_batched_async` / :meth:`GroupWriter.run_async` instead of parking a
thread on it. If the transaction itself cannot be had (another program holds the store past the
timeout: :class:`~bienmoc.errors.StoreBusy`) or the commit fails, every call of the group gets
that exception and nothing of the group was written.
"""
from __future__ import annotations

import asyncio
import collections
import inspect
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable

from bienmoc.errors import StoreBusy

__all__ = ["GroupWriter"]

_STOP = object()


class _Batched:
    """A payload that may be written with others of the same key in one call (see
    :meth:`GroupWriter.submit_batched`)."""

    __slots__ = ("key", "payload", "fn")

    def __init__(self, key, payload, fn):
        self.key, self.payload, self.fn = key, payload, fn


def _one(tx, fut: Future, fn) -> tuple[Future, bool, Any]:
    from bienmoc.storage.base import StaleRead

    for again in (False, True):
        try:
            with tx.savepoint():
                return fut, True, fn(tx)
        except StaleRead as e:  # read before the lazy lock, changed meanwhile: redo locked
            if again:
                return fut, False, e
            tx.lock()  # at the group's level: the rest of the group runs under the lock
        except StoreBusy:  # the lazy lock could not be had: the whole group gets it
            raise
        except BaseException as e:  # this write alone is undone
            return fut, False, e
    raise AssertionError("unreachable")


def _batch(tx, items: list) -> list[tuple[Future, bool, Any]]:
    """Write the payloads of one key in one call; if that fails, one by one."""
    fn = items[0][0].fn
    if len(items) > 1:
        try:
            with tx.savepoint():
                results = fn(tx, [b.payload for b, _ in items])
            if len(results) == len(items):
                return [(fut, True, r) for (_, fut), r in zip(items, results)]
            raise RuntimeError("a batch function returned the wrong number of results")
        except StoreBusy:  # the lazy lock could not be had: the whole group gets it
            raise
        except Exception:  # noqa: BLE001 - a bad payload in the batch: retried alone below
            pass
    return [_one(tx, fut, lambda t, b=b: b.fn(t, [b.payload])[0]) for b, fut in items]


def _settle(fut: Future, out: "asyncio.Future") -> None:
    if not out.cancelled():
        e = fut.exception()
        out.set_exception(e) if e is not None else out.set_result(fut.result())


async def _awaited(fut: Future) -> Any:
    """The result of ``fut`` (a writer-thread future) for a coroutine. Unlike
    ``asyncio.wrap_future`` a cancelled waiter does not cancel the write (the shield), and
    it costs one loop future and one thread-safe wake-up (measured ~5 µs less per write than
    ``asyncio.shield(asyncio.wrap_future(fut))``)."""
    loop = asyncio.get_running_loop()
    out = loop.create_future()
    fut.add_done_callback(lambda f: loop.call_soon_threadsafe(_settle, f, out))
    return await out


def _checkpoint(store) -> bool:
    fn = getattr(store, "checkpoint", None)
    return bool(fn()) if fn is not None else True


class GroupWriter:
    """One writer thread per store (per process) that commits queued writes in groups."""

    def __init__(self, store, *, max_group: int = 256, timeout: float | None = None,
                 lazy_lock: bool = False, gather_s: float = 0.0):
        self.store = store
        #: validate outside the store's write lock where the store can (PostGIS
        #: ``transaction(lazy_lock=True)``): writers of several processes then validate in
        #: parallel, but no write waits in the queue while the lock is awaited, so groups are
        #: smaller unless ``gather_s`` lets them fill. Off here (a library caller's writes
        #: keep the simple order); the API server turns it on with ``gather_s`` 1 ms
        #: (``BIENMOC_WRITE_LAZY_LOCK``, ``BIENMOC_WRITE_GATHER_MS``): with 8 writers on 2
        #: cores ~25 % more writes/s than validating under the lock (benchmarks/README.md).
        self.lazy_lock = bool(lazy_lock)
        #: seconds the writer waits at most after the first write of a group for others to
        #: join it, when the group before had several writes (see :meth:`_loop`)
        self.gather_s = float(gather_s)
        # sizes of the last groups committed (with the writes _commit drained meanwhile)
        self._recent: collections.deque = collections.deque([1], maxlen=16)
        self.max_group = int(max_group)
        self.timeout = timeout  # lock wait per group (the store's default when None)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        #: seconds without writes after which the WAL is checkpointed into the file
        self.idle_checkpoint = 0.25
        self._checkpoint_kw: dict | None = None
        #: groups committed and writes in them (for measurements)
        self.groups = 0
        self.writes = 0
        #: committed groups by size (index 16: 16 or more)
        self.sizes = [0] * 17

    def submit(self, fn: Callable[[Any], Any]) -> Future:
        """Queue ``fn(tx)``; the future resolves after the group's commit."""
        if self._closed:
            raise RuntimeError("GroupWriter is closed")
        self._ensure_thread()
        fut: Future = Future()
        self._queue.put((fn, fut))
        return fut

    def submit_batched(self, key: Any, payload: Any,
                       fn: Callable[[Any, list], list]) -> Future:
        """Queue one ``payload`` that may be written together with other payloads of the same
        ``key`` waiting in the same group: ``fn(tx, payloads)`` returns one result per payload.
        A batch that raises is undone and its payloads are retried one by one (each in its own
        savepoint), so one bad payload fails alone, exactly as with :meth:`submit`."""
        if self._closed:
            raise RuntimeError("GroupWriter is closed")
        self._ensure_thread()
        fut: Future = Future()
        self._queue.put((_Batched(key, payload, fn), fut))
        return fut

    def run_batched(self, key: Any, payload: Any, fn: Callable[[Any, list], list]) -> Any:
        """:meth:`submit_batched` and wait for the committed result."""
        return self.submit_batched(key, payload, fn).result()

    async def run_batched_async(self, key: Any, payload: Any,
                                fn: Callable[[Any, list], list]) -> Any:
        """:meth:`run_batched` for a coroutine: the event loop waits, no thread is parked.
        The write is shielded: a cancelled caller (a client gone) does not take back a write
        already queued, exactly as a thread blocked in :meth:`run_batched` would not."""
        return await _awaited(self.submit_batched(key, payload, fn))

    async def run_async(self, fn: Callable[[Any], Any]) -> Any:
        """:meth:`run` for a coroutine (shielded like :meth:`run_batched_async`)."""
        return await _awaited(self.submit(fn))

    def run(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(tx)`` in the next group; return its result once committed (durable), or
        raise its exception (nothing of it written) or the group's StoreBusy/StorageError."""
        return self.submit(fn).result()

    def close(self) -> None:
        """Finish the queued writes and stop the writer thread."""
        self._closed = True
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()

    def __enter__(self) -> "GroupWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the writer thread -------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                t = threading.Thread(target=self._loop, name="bienmoc-group-writer",
                                     daemon=True)
                t.start()
                self._thread = t

    def _loop(self) -> None:
        dirty = False
        while True:
            try:
                item = self._queue.get(timeout=self.idle_checkpoint if dirty else None)
            except queue.Empty:  # idle: move the WAL into the file (see store.checkpoint)
                dirty = not _checkpoint(self.store)
                continue
            if item is _STOP:
                if dirty:
                    _checkpoint(self.store)
                return
            dirty = True
            group = [item]
            if self.gather_s > 0 and self._recent[-1] > 1:
                # writers are sending at the same time (the last group had several writes):
                # the writes being received join this group and share its fixed cost, until
                # it is as large as the largest recent group (with writers that each wait
                # for their answer before sending again, it is then complete); a lone
                # writer is not delayed
                stop = self._drain(group, max(self._recent), time.monotonic() + self.gather_s)
            else:
                stop = self._drain(group)
            stop = self._commit(group) or stop
            self._recent.append(len(group))
            if stop:
                _checkpoint(self.store)
                return

    def _drain(self, group: list, want: int = 0, deadline: float = 0.0) -> bool:
        """Add the writes queued meanwhile to ``group`` (up to ``max_group``); while it has
        fewer than ``want``, also wait for writes to arrive until ``deadline`` (monotonic
        time). True when the stop mark was among them (the loop ends after this group)."""
        while len(group) < self.max_group:
            left = deadline - time.monotonic() if len(group) < want else 0.0
            try:
                nxt = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                return False
            if nxt is _STOP:
                return True
            group.append(nxt)
        return False

    def _commit(self, group: list) -> bool:
        """Write ``group`` in one transaction; True when the stop mark was taken from the
        queue meanwhile."""
        outcomes: list[tuple[Future, bool, Any]] = []
        stop = False
        try:
            if self._checkpoint_kw is None:
                params = inspect.signature(self.store.transaction).parameters
                self._checkpoint_kw = {"checkpoint": False} if "checkpoint" in params else {}
                if self.lazy_lock and "lazy_lock" in params:
                    self._checkpoint_kw["lazy_lock"] = True
            with self.store.transaction(timeout=self.timeout, **self._checkpoint_kw) as tx:
                # writes that arrived while the store's lock was awaited (another process's
                # group held it) join this group: the lock wait becomes batching, not idling
                stop = self._drain(group)
                batches: dict[Any, list] = {}
                for fn, fut in group:
                    if not fut.set_running_or_notify_cancel():
                        continue
                    if isinstance(fn, _Batched):
                        batches.setdefault(fn.key, []).append((fn, fut))
                        continue
                    outcomes.append(_one(tx, fut, fn))
                for items in batches.values():
                    outcomes += _batch(tx, items)
        except BaseException as e:  # no transaction, or the commit failed: nothing landed
            for _, fut in group:
                if not fut.done():
                    fut.set_exception(e)
            return stop  # (the writer thread lives on for the next group)
        self.groups += 1
        self.writes += sum(ok for _, ok, _ in outcomes)
        self.sizes[min(len(group), len(self.sizes) - 1)] += 1
        for fut, ok, value in outcomes:
            fut.set_result(value) if ok else fut.set_exception(value)
        return stop
