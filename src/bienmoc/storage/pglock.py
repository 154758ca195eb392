"""The write lock, change tokens and savepoints of a PostGIS transaction.

:class:`LockAndTokens` is mixed into :class:`bienmoc.storage.postgis._Transaction` (which has
``store`` and ``con``). The store's write lock is a transaction-level advisory lock; a
``lazy_lock`` transaction takes it at its first write (:meth:`LockAndTokens.lock`) and checks
then the change tokens it handed out before (see :meth:`PostGISStore.layer_tokens`).
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from bienmoc.errors import StoreBusy
from bienmoc.storage.pgconn import _psycopg, _result_sets

__all__ = ["LockAndTokens"]


class LockAndTokens:
    """Change-token memo, lazy write lock and savepoints of one transaction."""

    def _init_tokens(self, store) -> None:
        self._tokens: dict[str, tuple | None] = {}  # layer_tokens memo (cleared on writes)
        self._all_tokens = False  # the memo holds every present layer (absent: None)
        self._locked = True  # holds the store's advisory lock (lazy_lock: from the 1st write)
        self._used: dict[str, tuple | None] = {}  # tokens handed out before the lock
        self._depth = 0  # savepoint nesting (a rolled-back savepoint releases its lock)
        self._lock_depth = 0
        self._wait = store.lock_timeout
        self._log: list[list] = []  # write_log rows not sent yet (log_rows)
        self._after: list[str] = []  # statements sent before the next one (RELEASE)
        self._sent_depth = 0  # savepoint levels whose SAVEPOINT reached the server
        self._shaped: list[list] = []  # [savepoint depth, layer] of tables made or altered

    def lock(self, then: str | None = None) -> list | None:
        """Take the store's write lock now if this (lazy) transaction does not hold it; raise
        :class:`~bienmoc.storage.base.StaleRead` when a layer read before (through its change
        token) changed meanwhile. One round trip: what waits (a SAVEPOINT, write-log rows),
        the lock, every layer's token and ``then``, one statement returning rows (sent after
        the lock: its snapshot sees every commit made before the lock was granted), whose
        rows are returned. ``then`` runs in a savepoint of its own, before the tokens are
        compared: on a StaleRead it is undone (one more round trip, rare), so that nothing
        is written when StaleRead is raised and the caller may check again and redo."""
        if self._locked:
            if then is not None:
                return _result_sets(self.con.execute(self._waiting(then)))[-1]
            if self._sent_depth < self._depth:  # the SAVEPOINT before the write that follows
                self.con.execute(self._waiting())
            return None
        from bienmoc.storage.base import StaleRead

        psycopg = _psycopg()
        s = self.store
        try:
            cur = self.con.execute(self._waiting(
                f"SELECT pg_advisory_xact_lock({int(s._lock_key)}); SELECT layer, "
                f"generation, last_change FROM {s._t('bienmoc_layers')} WHERE present"
                + (f"; SAVEPOINT {_THEN}; {then}" if then is not None else "")))
        except psycopg.errors.LockNotAvailable:
            raise StoreBusy(f"another writer holds the store; waited {self._wait:g} s",
                            retry_after=1.0) from None
        sets = _result_sets(cur)
        tokens = sets[1]
        fresh = {n: ("pg", int(g), last) for n, g, last in tokens}
        self._locked, self._lock_depth = True, self._depth
        used, self._used = self._used, {}
        self._tokens, self._all_tokens = dict(fresh), True
        changed = sorted(n for n, t in used.items() if fresh.get(n) != t)
        if changed:
            if then is not None:
                self.con.execute(f"ROLLBACK TO SAVEPOINT {_THEN}; RELEASE SAVEPOINT {_THEN}")
                self._tokens, self._all_tokens = {}, False  # (fresh is from before ``then``)
            raise StaleRead(f"layer(s) {', '.join(changed)} changed before the write lock")
        if then is None:
            return None
        self._after.append(f"RELEASE SAVEPOINT {_THEN}")
        return sets[2]

    def _forget_tokens(self, *layers: str) -> None:
        """Drop the memo of the tokens of ``layers`` (this transaction wrote them), of every
        layer without arguments."""
        if layers:
            for name in layers:
                self._tokens.pop(name, None)
        else:
            self._tokens.clear()
        self._all_tokens = False

    def layer_tokens(self, layers) -> dict[str, tuple | None]:
        """:meth:`PostGISStore.layer_tokens`, asked once per transaction for each layer:
        the memo is cleared by this transaction's own writes and at the end of each
        savepoint (a rolled-back write restores the stored token). A commit of another
        client (not bienmoc: they wait on the advisory lock) made during this transaction
        is seen by the next transaction, as a read of the layer made earlier in this one."""
        if self._all_tokens:
            out = {n: self._tokens.get(n) for n in layers}
        else:
            want = [n for n in layers if n not in self._tokens]
            if want:
                self._tokens.update(self.store.layer_tokens(want))
            out = {n: self._tokens[n] for n in layers}
        if not self._locked:  # checked when the lock is taken
            for n, t in out.items():
                self._used.setdefault(n, t)
        return out

    @contextlib.contextmanager
    def savepoint(self) -> Iterator["LockAndTokens"]:
        """Undo only what the block wrote when it raises (the transaction goes on).

        SAVEPOINT, RELEASE and ROLLBACK TO are sent here (not by psycopg's nested
        ``transaction()``) so that the write-log rows still waiting (:meth:`log_rows`) go in
        the same round trip as the SAVEPOINT: what waits afterwards was written inside this
        block, and is dropped with it when it is undone. The RELEASE waits for the next
        simple statement (the next SAVEPOINT, the lock, the COMMIT): until then the
        statements run inside the finished savepoint, which the RELEASE then merges into
        the enclosing level, as if it had been sent at once; a savepoint of the same name
        that follows is only opened after it. Change tokens memoised in the block stay
        valid when it is released (the layers it wrote were dropped from the memo)."""
        self._depth += 1
        name = f"bienmoc_sp{self._depth}"
        # sent with the block's first statement (one round trip fewer), after the write-log
        # rows written before it
        self._after += [x for x in (self._log_statement(), f"SAVEPOINT {name}") if x]
        try:
            yield self
        except BaseException:
            self._log.clear()  # (written inside the block: undone with it)
            self._forget_tokens()
            self._unshape()  # (and a table the block created or altered)
            if self._sent_depth >= self._depth:  # the block reached the server: undo it there
                # (what waits was written inside the block; a RELEASE of an inner savepoint
                # would fail in an aborted transaction)
                self._after.clear()
                self._sent_depth = self._depth - 1
                if not self.con.closed:
                    self.con.execute(f"ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}")
            else:  # nothing of it was sent: forget its SAVEPOINT and what followed
                mark = f"SAVEPOINT {name}"
                del self._after[len(self._after) - 1 - self._after[::-1].index(mark):]
            if self._locked and self._lock_depth >= self._depth:
                self._locked = False  # PostgreSQL released the lock with the savepoint
                self._used = {}
            raise
        else:  # released into the enclosing level: the lock now belongs to it
            self._after += [x for x in (self._log_statement(), f"RELEASE SAVEPOINT {name}")
                            if x]
            self._lock_depth = min(self._lock_depth, self._depth - 1)
            self._sent_depth = min(self._sent_depth, self._depth - 1)
            for made in self._shaped:
                made[0] = min(made[0], self._depth - 1)
        finally:
            self._depth -= 1

    def _reshaped(self, layer: str) -> None:
        """This transaction created or altered ``layer``'s table: its cached columns are
        read again, and again after a savepoint that undoes the change."""
        self.store._cols.pop(layer, None)
        self._shaped.append([self._depth, layer])

    def _unshape(self) -> None:
        """A savepoint was rolled back: forget the columns of the tables it made or altered
        (only theirs: the cache of the others stays, one round trip less per write after a
        refused one)."""
        keep = []
        for depth, layer in self._shaped:
            if depth >= self._depth:
                self.store._cols.pop(layer, None)
            else:
                keep.append([depth, layer])
        self._shaped = keep

    # -- the write log, sent with the next statement ----------------------------------------
    def log_rows(self, layer: str, record_ids: list, action: str, user: str, at: str) -> None:
        """Append ``write_log`` rows (:func:`bienmoc.records.attribution.log_writes`): kept
        here and sent with the transaction's next savepoint or COMMIT, in the same round trip
        (or before any read of this transaction, which then sees them)."""
        from bienmoc.records.attribution import WRITE_LOG

        self.lock()
        self._log_columns()
        self._log.extend([layer, rid, action, user, at] for rid in record_ids)
        self._tokens.pop(WRITE_LOG, None)
        self._all_tokens = False

    def _log_statement(self) -> str | None:
        """The waiting write-log rows as one INSERT with its values inline (None without
        rows), and forget them. Inline because a simple query may hold several statements
        (the INSERT and the COMMIT: one round trip), which one with parameters may not; the
        values travel as one JSON text literal, quoted by psycopg."""
        if not self._log:
            return None
        import json

        from psycopg import sql

        from bienmoc.records.attribution import WRITE_LOG

        rows, self._log = self._log, []
        doc = json.dumps([dict(zip(_LOG_KEYS, r)) for r in rows], ensure_ascii=False,
                         separators=(",", ":"))
        t = self.store._t(WRITE_LOG)
        return (f"INSERT INTO {t} ({_LOG_COLS}) SELECT {_LOG_COLS} FROM "
                f"json_populate_recordset(NULL::{t}, {sql.Literal(doc).as_string(self.con)})")

    def _waiting(self, then: str | None = None) -> str:
        """The statements waiting (a RELEASE, write-log rows), then ``then``: the text of one
        simple query (one round trip); they are no longer waiting."""
        parts = [*self._after, self._log_statement(), then]
        self._after = []
        self._sent_depth = self._depth
        return "; ".join(x for x in parts if x)

    def _send_log(self, then: str | None = None) -> None:
        """Send what waits (:meth:`_waiting`), followed by the statement ``then``; without
        ``then`` (before a read) only when write-log rows or a SAVEPOINT wait (a RELEASE
        alone can wait)."""
        if then is None and not self._log and self._sent_depth >= self._depth and not any(
                a.startswith("INSERT") for a in self._after):
            return
        text = self._waiting(then)
        if text:
            self.con.execute(text)

    def _log_columns(self) -> None:
        from bienmoc.records.attribution import WRITE_LOG

        if not self.store._cols.get(WRITE_LOG):  # created on its first write (all text)
            import pandas as pd

            self._columns(WRITE_LOG, pd.DataFrame({k: pd.Series([], dtype=object)
                                                   for k in _LOG_KEYS}))


_THEN = "bienmoc_locked"  # the savepoint of the statement sent with the lazy lock
_LOG_KEYS = ("layer", "record_id", "action", "user", "at")
_LOG_COLS = ", ".join(f'"{k}"' for k in _LOG_KEYS)
