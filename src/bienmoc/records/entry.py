"""The write path every record takes: schema, references, domain rules, one atomic write.

:func:`enter` is called by :mod:`bienmoc.records.recording` (scripts, the CLI, the API) and by
:func:`bienmoc.records.import_records` (file imports). It reads, validates and writes inside one
``store.transaction()`` - or inside the transaction it is given, so that several records can
share one (group commit) - and raises :class:`~bienmoc.errors.InvalidData` listing every
problem before anything is written.
"""
from __future__ import annotations

import contextlib
import logging
from typing import Callable, Iterable, Iterator

import geopandas as gpd
import numpy as np
import pandas as pd

from bienmoc.errors import InvalidData, Problem
from bienmoc.model.frames import column_array
from bienmoc.model.numbers import parse_number
from bienmoc.model.schema import SCHEMAS, conform, validate
from bienmoc.records.attribution import log_writes
from bienmoc.storage.base import StaleRead
from bienmoc.records.rules import (RULE_NAMES, Context, RuleProblem, RuleSettings,
                                   buffered_layers, layer_states, read_layer, run_rules)

#: the column that keeps a client's retry token with the records it wrote (see :func:`enter`)
IDEMPOTENCY_KEY = "idempotency_key"

__all__ = ["enter", "transaction", "border_model", "check_allow", "reference_problems",
           "apply_overrides"]

log = logging.getLogger("bienmoc.records")


@contextlib.contextmanager
def transaction(store) -> Iterator[object]:
    """``store.transaction()``, or ``store`` itself when it already is a transaction (it can
    append but opens no transaction of its own)."""
    if hasattr(store, "append") and not hasattr(store, "transaction"):
        yield store
        return
    if not hasattr(store, "transaction"):  # a store with only read/write/write_many
        tx = _RewriteTransaction(store)
        yield tx
        tx.commit()
        return
    with store.transaction() as tx:
        yield tx


class _RewriteTransaction:
    """The Transaction of a store that has none of its own: writes are buffered and committed
    by one atomic ``write_many`` (the changed layers replaced whole). There is no lock across
    processes: such stores serve one writer."""

    def __init__(self, store):
        self.store = store
        self._frames: dict[str, gpd.GeoDataFrame] = {}

    def read(self, layer: str) -> gpd.GeoDataFrame:
        if layer in self._frames:
            return self._frames[layer]
        return self.store.read(layer) if layer in self.store.layers() else \
            _empty(layer)

    def append(self, layer: str, data: gpd.GeoDataFrame) -> list[str]:
        from bienmoc.model.schema import _new_ids

        if not isinstance(data, gpd.GeoDataFrame):  # an attributes table (write_log, users)
            data = gpd.GeoDataFrame(data, geometry=[None] * len(data), crs="EPSG:4326")
        current, data = self.read(layer), data.copy()
        if "id" in data and layer in SCHEMAS:
            missing = data["id"].isna()
            if missing.any():
                data.loc[missing, "id"] = _new_ids(SCHEMAS[layer], data, missing, current)
        self._frames[layer] = gpd.GeoDataFrame(pd.concat([current, data], ignore_index=True),
                                               geometry="geometry", crs=data.crs)
        return [str(v) for v in data["id"]] if "id" in data else []

    def replace(self, layer: str, data: gpd.GeoDataFrame) -> None:
        self._frames[layer] = data

    def update_fields(self, layer, record_id, values, *, log_layer, note=None, user=None):
        import datetime as _dt

        from bienmoc.errors import NotFound

        frame = self.read(layer).copy()
        hit = (frame["id"] == record_id).to_numpy()
        if not hit.any():
            raise NotFound(f"no record {record_id!r} in layer {layer!r}")
        now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        changes = {}
        for k, v in values.items():
            old = frame.loc[hit, k].iloc[0]
            old = None if old is None or (isinstance(old, float) and np.isnan(old)) else old
            if old != v:
                changes[k] = (old, v)
                frame.loc[hit, k] = v
        if changes:
            self._frames[layer] = conform(layer, frame) if layer in SCHEMAS else frame
            rows = pd.DataFrame([{"record_id": record_id, "field": k, "old_value": o,
                                  "new_value": n, "changed_at": now, "note": note,
                                  "changed_by": user}
                                 for k, (o, n) in changes.items()])
            log_ = self.read(log_layer) if (log_layer in self._frames
                                            or log_layer in self.store.layers()) else None
            if log_ is not None:
                rows = pd.concat([pd.DataFrame(log_.drop(columns="geometry",
                                                         errors="ignore")), rows],
                                 ignore_index=True)
            self._frames[log_layer] = gpd.GeoDataFrame(rows, geometry=[None] * len(rows),
                                                       crs="EPSG:4326")
        return changes

    def lookup(self, layer: str, field: str, value) -> list[str]:
        df = self.read(layer)
        return [str(v) for v in df.loc[df[field] == value, "id"]] if field in df else []

    def commit(self) -> None:
        if self._frames:
            self.store.write_many(self._frames, mode="replace")


def _empty(layer: str) -> gpd.GeoDataFrame:
    from bienmoc.model.schema import empty_layer

    return empty_layer(layer) if layer in SCHEMAS else gpd.GeoDataFrame(
        geometry=gpd.GeoSeries([], crs="EPSG:4326"))


_MODELS: dict = {}  # (store uri, layer states) -> BorderModel; a few entries at most


def border_model(tx, store=None, *, with_markers: bool = False):
    """The BorderModel (boundary + provinces, and the markers when ``with_markers``) of the
    transaction's store, cached by the layers' states where the store can tell them
    (``layer_state``); None when the store holds no boundary line."""
    from bienmoc.geometry.locate import BorderModel

    store = store or getattr(tx, "store", None)
    layers = ("boundary", "provinces") + (("markers",) if with_markers else ())
    key = None
    if not set(layers) & buffered_layers(tx):
        # the markers' token too (one query on PostGIS): a model with markers serves too
        states = layer_states(tx, ("boundary", "provinces", "markers"))
        if states is not None:
            uri = getattr(store, "uri", id(store))
            key = (uri,) + tuple(states[n] for n in layers)
            if key in _MODELS:
                return _MODELS[key]
            fuller = key + (states["markers"],)
            if not with_markers and fuller in _MODELS:
                return _MODELS[fuller]
    boundary = read_layer(tx, "boundary")
    markers = read_layer(tx, "markers") if with_markers else None
    model = BorderModel(boundary, markers, read_layer(tx, "provinces")) if len(boundary) \
        else None
    if key is not None:
        if len(_MODELS) > 8:
            _MODELS.clear()
        _MODELS[key] = model
    return model


def check_allow(allow: Iterable[str]) -> frozenset[str]:
    """The override names, checked: an unknown name is an error, not a silent no-op."""
    names = frozenset(a.strip() for a in (allow or ()) if a and a.strip())
    unknown = sorted(names - set(RULE_NAMES))
    if unknown:
        raise InvalidData(Problem(None, "allow", f"unknown rule {', '.join(unknown)} to allow; "
                                  f"the rules are {', '.join(RULE_NAMES)}"), "override")
    return names


def reference_problems(kind: str, data: pd.DataFrame, tx, rows: Iterable[int] | None = None
                       ) -> list[Problem]:
    """Problems with what records of ``kind`` refer to: the work, the marker, and the record a
    correction names (which must exist and be of the same marker / work)."""
    rows = list(rows) if rows is not None else list(range(1, len(data) + 1))
    problems: list[Problem] = []
    if kind == "work_progress":
        works = set(read_layer(tx, "works")["id"])
        for r, w in zip(rows, data["work_id"]):
            if w is not None and w not in works:
                problems.append(Problem(r, "work_id", f"no work with id {w!r}"))
    refs = {"inspections": ("marker",), "resurveys": ("marker",),
            "works": ("marker_from", "marker_to")}.get(kind, ())
    if refs:
        markers = read_layer(tx, "markers")
        known = set(zip(markers["border"], markers["number"]))
        # a work names a marker position ("222") or one part ("222(1)")
        known |= {(b, parse_number(n).position) for b, n in known} if kind == "works" else set()
        for field in refs:
            for r, b, m in zip(rows, data["border"], data[field]):
                if b is not None and m is not None and (b, m) not in known:
                    problems.append(Problem(r, field, f"no marker {m} on border {b}"))
    if kind in ("inspections", "work_progress") and "corrects" in data \
            and data["corrects"].notna().any():
        subject = ("border", "marker") if kind == "inspections" else ("work_id",)
        both = pd.concat([read_layer(tx, kind), data], ignore_index=True)
        owner = {i: tuple(t) for i, *t in zip(both["id"], *(both[c] for c in subject))
                 if i is not None and not pd.isna(i)}
        for r, c, *t in zip(rows, data["corrects"], *(data[c] for c in subject)):
            if c is None:
                continue
            if c not in owner:
                problems.append(Problem(r, "corrects", f"no {kind} record {c!r} to correct"))
            elif owner[c] != tuple(t):
                problems.append(Problem(r, "corrects", f"record {c} is of {'/'.join(owner[c])}"
                                        f", not {'/'.join(map(str, t))}: a correction replaces"
                                        " a record of the same subject"))
    return problems


def apply_overrides(data: gpd.GeoDataFrame, rows: np.ndarray, allowed: list[RuleProblem],
                    kind: str) -> None:
    """Store each allowed problem on its record (``overrides``) and log it."""
    by_row: dict[int, list[str]] = {}
    for p in allowed:
        by_row.setdefault(p.row, []).append(f"{p.rule}: {p.reason}")
        log.warning("override of rule %r in %s, row %s, field %s: %s", p.rule, kind, p.row,
                    p.field, p.reason)
    pos = {int(r): i for i, r in enumerate(rows)}
    for r, notes in by_row.items():
        i = pos[r]
        old = data["overrides"].iloc[i]
        text = " | ".join(([old] if isinstance(old, str) and old else []) + notes)
        data.iloc[i, data.columns.get_loc("overrides")] = text[:2000]


def enter(store, kind: str, records: pd.DataFrame, *, rows: Iterable[int] | None = None,
          mode: str = "append", allow: Iterable[str] = (), settings: RuleSettings | None = None,
          what: str | None = None,
          prepare: Callable[[object, pd.DataFrame], pd.DataFrame] | None = None,
          checks: Callable[[Context], list[Problem]] | None = None,
          also: Callable[[object, gpd.GeoDataFrame], None] | None = None,
          idempotency_key: str | None = None, user: str | None = None) -> gpd.GeoDataFrame:
    """Validate ``records`` of layer ``kind`` and write them in one transaction.

    ``user`` (the API token's user, the CLI's user) attributes the write: one row per record
    in the ``write_log`` layer, in the same transaction (:mod:`bienmoc.records.attribution`).

    ``prepare(tx, records)`` may complete the records before validation (an incident's
    border and province from its position); ``checks`` adds the caller's own problems;
    ``also(tx, data)`` writes what belongs to the same change (a resurvey moves the marker)
    inside the transaction. Problems of rules named in ``allow`` do not block: they are
    stored on the record (``overrides``) and logged. Returns the records written, with ids.

    ``idempotency_key`` (a client's retry token, e.g. the API's ``Idempotency-Key`` header) is
    stored with the records; when the layer already holds records written under that key,
    they are returned as they are (``attrs["replayed"] = True``) and nothing is written, so a
    retried request never stores twice. Records may instead carry one key each in an
    ``idempotency_key`` column (a field submission's id): those already stored are skipped and
    counted in the result's ``attrs["skipped"]``.
    """
    allowed = check_allow(allow)
    settings = settings or RuleSettings()
    rows = list(rows) if rows is not None else None  # (read twice on a retry)
    with transaction(store) as tx:
        for again in (False, True):
            try:
                return _enter(tx, kind, records, rows=rows, mode=mode, allowed=allowed,
                              settings=settings, what=what, prepare=prepare, checks=checks,
                              also=also, idempotency_key=idempotency_key, user=user)
            except StaleRead:
                # a reference layer changed between this transaction's cached reads and its
                # write lock (a group commit's lazy lock): nothing is written yet and the
                # lock is held now, so the second pass reads and checks the current state
                if again:
                    raise
    raise AssertionError("unreachable")


def _enter(tx, kind, records, *, rows, mode, allowed, settings, what, prepare, checks, also,
           idempotency_key, user) -> gpd.GeoDataFrame:
    """:func:`enter`'s work inside the transaction ``tx``."""
    if idempotency_key is not None and mode == "append":
        done = tx.lookup(kind, IDEMPOTENCY_KEY, idempotency_key)
        if done:
            stored = tx.read(kind)
            stored = stored[stored["id"].isin(done)].reset_index(drop=True)
            stored.attrs["replayed"] = True
            return stored
    rows_arr = (np.arange(1, len(records) + 1) if rows is None
                else np.asarray(list(rows), dtype=int))
    keys, skipped = None, 0
    if IDEMPOTENCY_KEY in records.columns and mode == "append":
        records, rows_arr, keys, skipped = _skip_replayed(tx, kind, records, rows_arr)
        if not len(records):
            done = _empty(kind)
            done.attrs["skipped"] = skipped
            return done
    if prepare is not None:
        records = prepare(tx, records)
    schema = SCHEMAS[kind]
    given_ids = "id" in records and pd.Series(records["id"]).notna().any()
    # stored records matter for keys other than a missing id (allocated by tx.append)
    existing = (read_layer(tx, kind) if mode == "append"
                and (schema.key != ("id",) or given_ids) else None)
    borders = None
    if kind != "boundary" and "border" in schema.columns:
        borders = _border_codes(read_layer(tx, "boundary"))
    data = validate(kind, records, existing=existing, rows=rows_arr, borders=borders,
                    what=what, assign_ids=mode != "append")
    ctx = Context(tx, kind, data, rows_arr, settings, lambda: border_model(tx), mode=mode)
    problems = reference_problems(kind, data, tx, rows_arr) + run_rules(ctx) + (
        checks(ctx) if checks else [])
    blocking = [p for p in problems if getattr(p, "rule", None) not in allowed]
    if blocking:
        raise InvalidData(sorted(blocking, key=lambda p: (p.row or 0, p.field or "")), what)
    if "overrides" in data:
        apply_overrides(data, rows_arr, [p for p in problems if p not in blocking], kind)
    if mode == "append":
        if idempotency_key is not None:
            data[IDEMPOTENCY_KEY] = idempotency_key
        elif keys is not None:
            data[IDEMPOTENCY_KEY] = keys
        ids = tx.append(kind, data)
        if IDEMPOTENCY_KEY in data:  # (a drop copies the frame even when it has none)
            data = data.drop(columns=[IDEMPOTENCY_KEY])
        if "id" in data:
            # (in place, an object column as validate makes it: GeoDataFrame.__setitem__
            # re-checks the CRS, and a bare array would be inferred as Arrow strings)
            data.isetitem(data.columns.get_loc("id"), pd.Series(
                column_array(ids), dtype=object, index=data.index))
        log_writes(tx, kind, ids if ids else [None] * len(data), "create", user)
    else:
        tx.replace(kind, data)
        log_writes(tx, kind, [None], "replace", user)
    if also is not None:
        also(tx, data)
    if skipped:
        data.attrs["skipped"] = skipped
    return data


_CODES: dict[int, tuple] = {}  # id(boundary frame) -> (frame, its border codes)


def _border_codes(boundary: pd.DataFrame) -> set | None:
    """The border codes of a boundary layer (None: no line), kept per frame object:
    :func:`read_layer` hands out the same cached frame while the layer is unchanged."""
    hit = _CODES.get(id(boundary))
    if hit is not None and hit[0] is boundary:
        return hit[1]
    codes = set(boundary["border"]) if len(boundary) else None
    if len(_CODES) > 8:
        _CODES.clear()
    _CODES[id(boundary)] = (boundary, codes)  # (the frame is kept: its id stays its own)
    return codes


def _skip_replayed(tx, kind: str, records: pd.DataFrame, rows: np.ndarray):
    """Per-record idempotency keys (a field submission's id, kept in the ``idempotency_key``
    column): records whose key the layer already holds, or that repeat a key earlier in the
    same batch, are left out. Returns (records, rows, keys, number skipped)."""
    keys = records[IDEMPOTENCY_KEY].to_numpy(dtype=object)
    has = pd.notna(keys)
    if hasattr(tx, "held_keys"):  # one query for all (optional in the Transaction protocol)
        held = tx.held_keys(kind, keys[has])
        seen = np.array([bool(h) and str(k) in held for k, h in zip(keys, has)], dtype=bool)
    else:
        seen = np.array([bool(h and tx.lookup(kind, IDEMPOTENCY_KEY, k))
                         for k, h in zip(keys, has)], dtype=bool)
    again = pd.Series(keys).duplicated(keep="first").to_numpy() & has
    keep = ~(seen | again)
    records = records.loc[keep].drop(columns=[IDEMPOTENCY_KEY])
    return records, rows[keep], keys[keep], int((~keep).sum())
