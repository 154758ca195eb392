"""Users of a store, their roles and their API tokens (kept in the store's ``users`` table).

Roles, each allowed what the previous one is, and more:

``reader``    reads only (reads are public; the role exists so a token can be issued and
              revoked without granting writes);
``reporter``  a field reporter: may add incidents and inspections (POST);
``editor``    may also change incidents (PATCH);
``admin``     everything, and manages users.

A token is ``secrets.token_urlsafe(32)`` (256 random bits), shown once by :func:`add_user` and
never stored: the table keeps its SHA-256. A slow password hash (bcrypt, scrypt) defends
low-entropy secrets chosen by people against guessing; a 256-bit random token cannot be
guessed, so one SHA-256 is as strong and costs microseconds per request (OWASP's guidance for
API keys / GitHub's tokens do the same). Comparisons use :func:`hmac.compare_digest`.

The ``users`` table is an attributes table of the store like the change logs; it is account
data, not a record of the border, so it is written here in a store transaction and not through
:func:`bienmoc.records.entry.enter` (whose schema and domain rules are those of border layers).
It is not an OGC API collection (the API serves a fixed list of layers) and ``bienmoc export``
exports only border layers, so hashes never leave the store file.

:func:`authenticate` caches the table per process, keyed by the ``users`` table's change token
(PostGIS :meth:`layer_tokens`; else :meth:`Store.version`), and trusts its copy for
:data:`AUTH_RECHECK_S` seconds before asking the store again (one cheap query): a request costs a
SHA-256 and a dict scan, no store access. A user disabled (or added) through this process takes
effect at once (:func:`disable_user` and :func:`add_user` drop the copy); through another process
(the CLI, another server worker) within :data:`AUTH_RECHECK_S` seconds.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass

import pandas as pd

from bienmoc.errors import InvalidData, NotFound, Problem

__all__ = ["ROLES", "USERS_LAYER", "User", "add_user", "list_users", "disable_user",
           "authenticate", "has_role", "has_users", "hash_token", "LEGACY_USER",
           "AUTH_RECHECK_S", "auth_cached"]

#: Roles from least to most allowed.
ROLES = ("reader", "reporter", "editor", "admin")
#: The table of users in the store.
USERS_LAYER = "users"
#: The name under which the server's shared ``BIENMOC_API_TOKEN`` writes (as an admin).
LEGACY_USER = "api"

_NAME = re.compile(r"^[\w.@-]{1,64}$")
_COLUMNS = ("name", "role", "token_hash", "created_at", "disabled", "disabled_at")


@dataclass(frozen=True)
class User:
    """A user as the API sees it (never the token or its hash)."""

    name: str
    role: str
    created_at: str | None = None
    disabled: bool = False

    def can(self, role: str) -> bool:
        """Whether this user has ``role`` or a higher one."""
        return has_role(self.role, role)


def has_role(role: str, needed: str) -> bool:
    """Whether ``role`` is ``needed`` or above it in :data:`ROLES`."""
    return ROLES.index(role) >= ROLES.index(needed)


def hash_token(token: str) -> str:
    """The stored form of a token: hex SHA-256 (see the module text for why not bcrypt)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _table(store_or_tx) -> pd.DataFrame:
    """The users table as a DataFrame (empty with the columns when absent)."""
    store = getattr(store_or_tx, "store", store_or_tx)  # a transaction knows its store
    if USERS_LAYER not in store.layers():
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in _COLUMNS})
    df = pd.DataFrame(store_or_tx.read(USERS_LAYER)).drop(columns=["geometry"], errors="ignore")
    for c in _COLUMNS:
        if c not in df:
            df[c] = None
    return df[list(_COLUMNS)].reset_index(drop=True)


def _frame(rows: list[dict]) -> pd.DataFrame:
    """Rows in the table's column types: text, and ``disabled`` as an integer 0/1."""
    out = pd.DataFrame({c: pd.Series([r.get(c) for r in rows], dtype=object)
                        for c in _COLUMNS})
    out["disabled"] = pd.Series([int(bool(r.get("disabled"))) for r in rows], dtype="int64")
    return out


def _check_role(role: str) -> str:
    role = str(role).strip().lower()
    if role not in ROLES:
        raise InvalidData(Problem(None, "role", f"unknown role {role!r}; roles: "
                                  f"{', '.join(ROLES)}"), "user")
    return role


def add_user(store, name: str, role: str) -> tuple[User, str]:
    """Create user ``name`` with ``role``; returns (the user, the token). The token is shown
    to the caller only now: the store keeps its hash. A name already taken is an error."""
    role = _check_role(role)
    name = str(name).strip()
    if not _NAME.match(name):
        raise InvalidData(Problem(None, "name", f"user name {name!r}: 1-64 letters, digits "
                                  "or . _ @ -"), "user")
    if name == LEGACY_USER:
        raise InvalidData(Problem(None, "name", f"{LEGACY_USER!r} is reserved for the "
                                  "server's BIENMOC_API_TOKEN"), "user")
    token = secrets.token_urlsafe(32)
    created = _now()
    with store.transaction() as tx:
        if name in set(_table(tx)["name"]):
            raise InvalidData(Problem(None, "name", f"user {name!r} exists already"), "user")
        tx.append(USERS_LAYER, _frame([{"name": name, "role": role,
                                        "token_hash": hash_token(token),
                                        "created_at": created, "disabled": 0}]))
    _forget(store)
    return User(name, role, created, False), token


def list_users(store) -> pd.DataFrame:
    """``name, role, created_at, disabled, disabled_at`` of every user (never the hashes)."""
    df = _table(store).drop(columns=["token_hash"])
    df["disabled"] = df["disabled"].fillna(0).astype(int).astype(bool)
    return df.reset_index(drop=True)


def disable_user(store, name: str) -> User:
    """Disable ``name``: its token is refused from now on (the row stays, for the record of
    who wrote what). NotFound for an unknown name."""
    with store.transaction() as tx:
        df = _table(tx)
        hit = (df["name"] == name).to_numpy()
        if not hit.any():
            raise NotFound(f"no user {name!r}")
        i = int(hit.nonzero()[0][0])
        rows = df.to_dict("records")
        if not int(rows[i]["disabled"] or 0):
            rows[i]["disabled"], rows[i]["disabled_at"] = 1, _now()
            tx.replace(USERS_LAYER, _frame(rows))
        r = rows[i]
    _forget(store)  # refused at once by this process (others: within AUTH_RECHECK_S)
    return User(r["name"], r["role"], r["created_at"], True)


# -- authentication (cached per process, re-checked every AUTH_RECHECK_S) ---------------------

#: Seconds a process trusts its copy of the users table before it asks the store whether the
#: table changed (one query): the longest a token disabled by another process is still taken.
AUTH_RECHECK_S = 1.0

# {store key: (change token, {hash: user}, any users, monotonic time of the last check)}
_CACHE: dict[str, tuple[object, dict[str, User], bool, float]] = {}
_CACHE_LOCK = threading.Lock()


def _key(store) -> str:
    store = getattr(store, "store", store)  # a transaction knows its store
    return str(getattr(store, "uri", id(store)))


def _forget(store) -> None:
    with _CACHE_LOCK:
        _CACHE.pop(_key(store), None)


def _change_token(store):
    """What changes whenever the users table does: its change token where the store has one
    (PostGIS: a row of ``bienmoc_layers``, so the many incident writes do not invalidate the
    copy), else the store's version."""
    tokens = getattr(store, "layer_tokens", None)
    if tokens is not None:
        return tokens([USERS_LAYER])[USERS_LAYER]
    return store.version()


def auth_cached(store) -> bool:
    """Whether :func:`authenticate` can answer for ``store`` from this process's copy, without
    a store access (the server then checks the token on the event loop, not in a thread)."""
    with _CACHE_LOCK:
        hit = _CACHE.get(_key(store))
    return hit is not None and time.monotonic() - hit[3] < AUTH_RECHECK_S


def _users_by_hash(store) -> tuple[dict[str, User], bool]:
    """{token hash: user} of the enabled users, and whether the store has any user at all,
    from the copy while it is younger than AUTH_RECHECK_S, re-read only when the table
    changed."""
    key = _key(store)
    now = time.monotonic()
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None and now - hit[3] < AUTH_RECHECK_S:
        return hit[1], hit[2]
    version = _change_token(store)
    if hit is not None and hit[0] == version:
        with _CACHE_LOCK:
            _CACHE[key] = (version, hit[1], hit[2], now)
        return hit[1], hit[2]
    df = _table(store)
    by_hash = {str(h): User(str(n), str(r), c, False)
               for n, r, h, c, d in zip(df["name"], df["role"], df["token_hash"],
                                        df["created_at"], df["disabled"])
               if isinstance(h, str) and not int(d or 0) and r in ROLES}
    with _CACHE_LOCK:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = (version, by_hash, len(df) > 0, now)
    return by_hash, len(df) > 0


def has_users(store) -> bool:
    """Whether the store's users table holds any user (enabled or not)."""
    return _users_by_hash(store)[1]


def authenticate(store, token: str | None, *, legacy_token: str | None = None) -> User | None:
    """The enabled user whose token is ``token``, or None (unknown, disabled, empty).

    ``legacy_token`` (the server's ``BIENMOC_API_TOKEN``) authenticates as the admin
    :data:`LEGACY_USER` ("api"), for servers set up before users existed."""
    if not token:
        return None
    if legacy_token and hmac.compare_digest(token.encode("utf-8"),
                                            legacy_token.encode("utf-8")):
        return User(LEGACY_USER, "admin")
    if store is None:
        return None
    digest = hash_token(token).encode("ascii")
    by_hash, _ = _users_by_hash(store)
    # every stored hash is compared in constant time (a store has tens of users, not
    # millions: the scan costs microseconds and leaks no timing about which prefix matched)
    found = None
    for h, user in by_hash.items():
        if hmac.compare_digest(h.encode("ascii"), digest):
            found = user
    return found
