"""The storage contract every backend implements.

Stores trade only GeoDataFrames (canonical dtypes, EPSG:4326) and layer names; they know
nothing of validation, which the domain core does before calling :meth:`Store.write`.
"""
from __future__ import annotations

import os
from typing import ContextManager, Literal, Mapping, Protocol, runtime_checkable

import geopandas as gpd

from bienmoc.errors import StorageError

__all__ = ["Store", "Transaction", "WriteMode", "TransactionWrites", "LOCK_TIMEOUT_ENV"]

WriteMode = Literal["replace", "append"]


@runtime_checkable
class Store(Protocol):
    """A place that holds bienmoc's layers.

    Implementations must make :meth:`write` and :meth:`write_many` atomic: after an error (or a
    crash) readers see either all of the change or none of it, and once they return the change
    is durable.
    """

    uri: str

    def layers(self) -> list[str]:
        """Names of the layers present (possibly empty)."""
        ...

    def read(self, layer: str, *, bbox: tuple[float, float, float, float] | None = None
             ) -> gpd.GeoDataFrame:
        """The layer as a GeoDataFrame with canonical dtypes; empty if absent."""
        ...

    def write(self, layer: str, data: gpd.GeoDataFrame, *, mode: WriteMode = "replace") -> None:
        """Replace the layer with ``data`` or append ``data`` to it, atomically."""
        ...

    def write_many(self, layers: Mapping[str, gpd.GeoDataFrame], *,
                   mode: WriteMode = "replace") -> None:
        """Write several layers in one atomic step."""
        ...

    def version(self) -> str:
        """An opaque token that changes whenever any layer changes (for caches)."""
        ...

    def transaction(self, *, timeout: float | None = None) -> ContextManager["Transaction"]:
        """Hold the store's write lock for a read-validate-write sequence.

        Waits at most ``timeout`` seconds (the store's default when None) for other writers,
        then raises :class:`bienmoc.errors.StoreBusy` (with ``retry_after`` seconds). Inside,
        :meth:`Transaction.read` sees committed data plus this transaction's own writes; every
        write made through the transaction commits atomically and durably when the block
        exits normally, and nothing is written when it raises.
        """
        ...


class Transaction(Protocol):
    """What a write sequence may do while it holds the store's write lock."""

    def read(self, layer: str) -> gpd.GeoDataFrame:
        """The layer as it stands in this transaction (canonical dtypes; empty if absent)."""
        ...

    def append(self, layer: str, data: gpd.GeoDataFrame) -> list[str]:
        """Append rows. Rows whose ``id`` is missing get the next free id of the layer's
        prefix (``V-000432``), allocated inside the transaction; a given id that the layer
        already holds raises :class:`DuplicateKey`. Returns the ids in row order."""
        ...

    def replace(self, layer: str, data: gpd.GeoDataFrame) -> None:
        """Replace the layer's content (in place, inside the transaction)."""
        ...

    def update_fields(self, layer: str, record_id: str, values: Mapping[str, object], *,
                      log_layer: str, note: str | None = None, user: str | None = None
                      ) -> dict[str, tuple]:
        """Change attribute values of one record and log each change; {field: (old, new)}.

        Each changed field appends one row to ``log_layer``: ``record_id, field, old_value,
        new_value, changed_at`` (UTC ISO text), ``note`` and ``changed_by`` (``user``; None
        when the caller names nobody). A log written before ``changed_by`` existed gains the
        column (its older rows NULL)."""
        ...

    def lookup(self, layer: str, field: str, value: object) -> list[str]:
        """Ids of the rows whose ``field`` equals ``value``. bienmoc's layers carry a nullable,
        indexed (unique when set) ``idempotency_key`` column that :meth:`append` stores when
        the rows have it and that reads leave out: ``lookup(layer, "idempotency_key", key)``
        finds the record an earlier, retried request created."""
        ...

    # Optional: ``held_keys(layer, keys) -> set[str]``, which of many idempotency keys the
    # layer holds in one query (both stores have it; records.entry falls back to one lookup()
    # per key for others).
    # Optional: ``layer_tokens(layers) -> {layer: token}``, a change token per layer as this
    # transaction sees it, cheap (the rule caches of records.rules ask it for every write;
    # they fall back to the store's ``layer_state``). PostGIS: memoised, one query at most.
    # Optional: ``lock()``, take the write lock of a ``transaction(lazy_lock=True)`` now
    # (the group writer's; raises StaleRead when tokens handed out before changed).
    # Optional: ``log_rows(layer, record_ids, action, user, at)``, append ``write_log`` rows
    # (records.attribution.log_writes uses it when present, else ``append``). PostGIS: they
    # wait in the transaction and travel with its next SAVEPOINT or its COMMIT.

    def savepoint(self) -> ContextManager["Transaction"]:
        """A nested step: what the block wrote is undone alone when it raises (used by
        :class:`bienmoc.storage.groupcommit.GroupWriter`, one savepoint per queued write)."""
        ...


class StaleRead(Exception):
    """Raised by a transaction opened with ``lazy_lock=True`` (PostGIS, for the group writer)
    when it takes the store's write lock at its first write and finds that a layer it read
    before (by its change token) was changed meanwhile by another writer. Nothing was written
    in the transaction yet and the lock is now held: the caller redoes its reads and checks
    (:func:`bienmoc.records.entry.enter` and the group writer do, once)."""


#: environment variable: seconds a writer waits for the store's lock (default 30)
LOCK_TIMEOUT_ENV = "BIENMOC_LOCK_TIMEOUT"


class TransactionWrites:
    """The whole-store writes of a store that has :meth:`Store.transaction`: each is one
    transaction of the matching :class:`Transaction` calls (GeoPackage and PostGIS share it)."""

    #: seconds a writer waits for the store's write lock (other threads, processes, programs)
    lock_timeout: float = 30.0

    def _set_lock_timeout(self, value) -> None:
        """``lock_timeout`` from ``value`` (seconds), else from :data:`LOCK_TIMEOUT_ENV`, else
        the class's default; a value that is not seconds is a StorageError naming it."""
        if value is None and os.environ.get(LOCK_TIMEOUT_ENV):
            value = os.environ[LOCK_TIMEOUT_ENV]
        if value is not None:
            try:
                self.lock_timeout = float(value)
            except ValueError:
                raise StorageError(f"{LOCK_TIMEOUT_ENV} must be seconds, not {value!r}"
                                   ) from None

    def write(self, layer: str, data: gpd.GeoDataFrame, *, mode: WriteMode = "replace") -> None:
        self.write_many({layer: data}, mode=mode)

    def write_many(self, layers: Mapping[str, gpd.GeoDataFrame], *,
                   mode: WriteMode = "replace") -> None:
        if mode not in ("replace", "append"):
            raise ValueError(f"mode must be 'replace' or 'append', not {mode!r}")
        with self.transaction() as tx:
            for name, data in layers.items():
                (tx.replace if mode == "replace" else tx.append)(name, data)

    def update_fields(self, layer: str, record_id: str, values: Mapping[str, object], *,
                      log_layer: str, changed_at=None, note: str | None = None,
                      user: str | None = None) -> dict[str, tuple]:
        """Set attribute ``values`` of the record whose ``id`` is ``record_id`` and append one
        row per changed field to ``log_layer`` (record_id, field, old_value, new_value,
        changed_at, note, changed_by = ``user``), in one transaction. Returns
        {field: (old, new)}; NotFound for an unknown id."""
        with self.transaction() as tx:
            return tx.update_fields(layer, record_id, values, log_layer=log_layer, note=note,
                                    changed_at=changed_at, user=user)
