"""Who wrote what: the append-only ``write_log`` layer.

Every write made through :func:`bienmoc.records.entry.enter` (and
:func:`bienmoc.records.update_incident`) with a ``user`` appends, in the same transaction as the
records, one row per record: ``layer, record_id, action, user, at`` - ``action`` is "create"
(appended), "update" (changed in place; the fields are in the layer's change log, whose
``changed_by`` names the same user) or "replace" (a whole layer replaced by an import: one row,
``record_id`` empty). Nothing is ever deleted from it. Writes made by library calls that name
no user are not logged here (the API names the token's user, the CLI the OS user or
``--user``).

It is an attributes table (no geometry) appended through the ordinary ``Transaction.append``,
so any store backend keeps it without code of its own; a transaction may offer
``log_rows(layer, record_ids, action, user, at)`` instead (PostGIS: the rows ride with the
transaction's next statement, its COMMIT in the common case: no round trip of their own).
"""
from __future__ import annotations

import datetime as _dt
from typing import Iterable

import pandas as pd

__all__ = ["WRITE_LOG", "log_writes", "cli_user"]

#: The layer of the write log.
WRITE_LOG = "write_log"


def log_writes(tx, layer: str, record_ids: Iterable, action: str, user: str | None) -> None:
    """Append one ``write_log`` row per record id (inside ``tx``); nothing without a user."""
    if user is None:
        return
    ids = [None if v is None or (isinstance(v, float) and v != v) else str(v)
           for v in record_ids]
    if not ids:
        return
    now = _dt.datetime.now(_dt.timezone.utc)
    at = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    fast = getattr(tx, "log_rows", None)
    if fast is not None:  # the rows as lists, sent with the next statement (PostGIS)
        fast(layer, ids, action, str(user), at)
        return
    n = len(ids)
    # one construction of object columns (a Series each cost 4x as much: this runs per write)
    tx.append(WRITE_LOG, pd.DataFrame({
        "layer": [layer] * n, "record_id": ids, "action": [action] * n,
        "user": [str(user)] * n, "at": [at] * n}, dtype=object))


def cli_user(given: str | None = None) -> str:
    """The name a command-line write is attributed to: ``given`` (``--user``), else
    ``$BIENMOC_USER``, else the operating-system user."""
    import getpass
    import os

    if given and given.strip():
        return given.strip()
    if os.environ.get("BIENMOC_USER", "").strip():
        return os.environ["BIENMOC_USER"].strip()
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container without /etc/passwd entry)
        return f"uid-{os.getuid()}"
