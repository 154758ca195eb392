"""Inserts of the PostGIS store's transaction: ids from the layer's counter, small batches in
one statement (JSON rows), bulk ones by binary COPY.

:class:`Inserts` is mixed into :class:`bienmoc.storage.postgis._Transaction` (which has
``store``, ``con`` and the write lock's :meth:`~bienmoc.storage.pglock.LockAndTokens.lock`)."""
from __future__ import annotations

import contextlib

import geopandas as gpd

from bienmoc.errors import StorageError
from bienmoc.storage.pgconn import _psycopg
from bienmoc.storage.pgschema import IDEMPOTENCY, q
from bienmoc.storage.pgvalues import _COPY_TYPES, _column_values, _geometries, _json_rows
from bienmoc.storage.sqlite import DuplicateKey

__all__ = ["Inserts", "COPY_ROWS"]

#: appends and replaces of more rows than this go through binary COPY
COPY_ROWS = 50


class Inserts:
    """Id allocation and row inserts of one PostGIS transaction."""

    def _insert_numbered(self, layer: str, data, cols: dict[str, str],
                         prefix: str) -> list[str] | None:
        """The common small append of new records (no ids) in ONE round trip, with the
        write lock if this (lazy) transaction does not hold it yet (:meth:`lock`'s
        ``then``). The statement numbers the rows itself from the layer's counter as it finds
        it (so the counter need not be known beforehand) and advances the counter, unless
        one of the new ids is stored already (another client's): then it writes nothing and
        this returns None, as it does for a batch that cannot be sent this way (too many
        rows, a value JSON cannot carry); the caller allocates with :meth:`_next_numbers`,
        which skips taken ids. The new ids in the rows' order otherwise."""
        n = len(data)
        if n > COPY_ROWS:
            return None
        names, gname = self._names(layer, data, cols)
        try:
            doc = _json_rows(data, [c for c in names if c != "id"], cols, None, gname)
        except (TypeError, ValueError):
            return None
        key = (layer, tuple(names), gname is not None, prefix)
        tpl = self.store._json_sql.get(key)
        if tpl is None:
            tpl = self.store._json_sql[key] = _numbered_sql(
                self.store, layer, names, gname is not None, prefix).split(_DOC)
        from psycopg import sql

        text = (tpl[0].replace(_N, str(int(n))) + sql.Literal(doc).as_string(self.con)
                + tpl[1])
        with self._mapped_errors(layer, data, None):
            got = self.lock(then=text)
        if len(got) != n:
            return None
        return sorted((r[0] for r in got), key=lambda v: int(v.rsplit("-", 1)[1]))

    def _taken(self, layer: str, ids: list[str]) -> list[str]:
        """Which of ``ids`` the layer holds. The ids travel as one string split in SQL:
        psycopg dumps a Python list of 100k strings far slower than one string (ids cannot
        hold the separator: validation refuses control characters)."""
        return [r[0] for r in self.con.execute(
            f"SELECT id FROM {self.store._t(layer)} WHERE id = ANY(string_to_array(%s, "
            "chr(31)))", ("\x1f".join(ids),))]

    def _next_numbers(self, layer: str, prefix: str, n: int) -> list[str]:
        seqs = self.store._t("bienmoc_sequences")
        # the common case in ONE round trip: advance the layer's counter by n and return it
        # with whichever of the n new ids another editor already stored (ids of more than six
        # digits are written in full, as f"{n:06d}" does)
        row = self.con.execute(_advance_sql(self.store, layer),
                               {"n": n, "layer": layer, "prefix": prefix + "-"}).fetchone()
        if row is not None:
            last = int(row[0])
            taken = set(row[1] or ())
            out = [c for c in (f"{prefix}-{last - n + k + 1:06d}" for k in range(n))
                   if c not in taken]
            if len(out) == n:
                return out
            return out + self._more_numbers(layer, prefix, n - len(out), last)
        row = self.con.execute(f"SELECT last FROM {seqs} WHERE layer = %s", (layer,)).fetchone()
        if row is None:
            last = self.con.execute(
                f"SELECT coalesce(max(substring(id FROM %s)::bigint), 0) FROM "
                f"{self.store._t(layer)} WHERE id ~ %s",
                (f"^{prefix}-(\\d+)$", f"^{prefix}-\\d+$")).fetchone()[0]
        else:
            last = int(row[0])
        return self._more_numbers(layer, prefix, n, last)

    def _more_numbers(self, layer: str, prefix: str, n: int, last: int) -> list[str]:
        seqs = self.store._t("bienmoc_sequences")
        out: list[str] = []
        while len(out) < n:  # skip ids another editor stored (checked in one query per batch)
            cands = [f"{prefix}-{last + k + 1:06d}" for k in range(n - len(out))]
            last += len(cands)
            taken = set(self._taken(layer, cands))
            out += [c for c in cands if c not in taken]
        self.con.execute(f"INSERT INTO {seqs} VALUES (%s, %s) ON CONFLICT (layer) DO UPDATE "
                         "SET last = excluded.last", (layer, last))
        return out

    def _names(self, layer: str, data, cols: dict[str, str]) -> tuple[list[str], str | None]:
        """The columns of ``data`` to insert (the geometry apart) and the geometry column's
        name when it goes into the layer's ``geom``; StorageError for a column the layer
        lacks."""
        gname = getattr(data, "_geometry_column_name", None)
        geo = isinstance(data, gpd.GeoDataFrame) and gname in data.columns
        names = []
        for c in data.columns:
            if geo and c == gname:
                continue
            if c not in cols or c in ("fid", "geom"):
                raise StorageError(f"layer {layer!r} has no field {c!r}")
            names.append(str(c))
        return names, (gname if geo and "geom" in cols else None)

    @contextlib.contextmanager
    def _mapped_errors(self, layer: str, data, ids: list | None):
        """A unique key or a check the database refused, as bienmoc's errors."""
        psycopg = _psycopg()
        try:
            yield
        except psycopg.errors.UniqueViolation as e:
            if IDEMPOTENCY in str(e) or "_idem" in str(e):
                raise DuplicateKey(layer, [str(k) for k in data[IDEMPOTENCY].dropna()]
                                   ) from None
            raise DuplicateKey(layer, [str(v) for v in (ids or data.get("id", []))]) from None
        except psycopg.errors.CheckViolation as e:
            raise StorageError(f"layer {layer!r}: a value is not allowed ({e.diag.message_primary}"
                               ")") from None

    def _insert(self, layer: str, data, cols: dict[str, str], ids: list | None = None) -> None:
        """Insert the rows: a small batch as one JSON parameter, else by binary COPY."""
        names, gname = self._names(layer, data, cols)
        with self._mapped_errors(layer, data, ids):
            if names and len(data) <= COPY_ROWS and self._insert_json(
                    layer, data, cols, names, ids, gname):
                return
            self._insert_rows(layer, data, cols, names, ids,
                              getattr(data, "_geometry_column_name", None), gname is not None)

    def _insert_json(self, layer: str, data, cols: dict[str, str], names: list[str],
                     ids: list | None, gname: str | None) -> bool:
        """A small batch in ONE statement whose text depends only on the layer and its column
        set: the rows travel as one JSON parameter read by ``json_populate_recordset`` into
        the table's own row type (each value parsed by its column's input function: exact
        dates, floats, EWKB geometry). Constant text lets psycopg cache its conversion and
        prepare it server-side after a few uses. False (nothing sent) when a value cannot be
        sent as JSON."""
        try:
            doc = _json_rows(data, names, cols, ids if "id" in names else None, gname)
        except (TypeError, ValueError):
            return False
        key = (layer, tuple(names), gname is not None)
        sql = self.store._json_sql.get(key)
        if sql is None:
            t = self.store._t(layer)
            cl = ", ".join(map(q, [*names, *(["geom"] if gname is not None else [])]))
            sql = self.store._json_sql[key] = (
                f"INSERT INTO {t} ({cl}) SELECT {cl} FROM json_populate_recordset(NULL::{t}, "
                "%s::json)")
        # no savepoint around it (SAVEPOINT + RELEASE in a pipeline cost more CPU than the
        # insert): one statement is atomic by itself, and the rare failure (a unique key taken
        # despite the checks made under the lock) ends the transaction - the group writer
        # runs each write in its own savepoint, which isolates it there
        self.con.execute(sql, (doc,))
        return True

    def _insert_rows(self, layer: str, data, cols, names, ids, gname, geo) -> None:
        lists = [_column_values(data[c], cols[c]) for c in names]
        if ids is not None and "id" in names:
            lists[names.index("id")] = list(ids)
        if geo and "geom" in cols:
            names = [*names, "geom"]
            lists.append(_geometries(data[gname].values))
        rows = list(zip(*lists)) if lists else [()] * len(data)
        t = self.store._t(layer)
        # a savepoint: a failed insert is undone alone
        with self.con.transaction():
            if not names:
                for _ in rows:
                    self.con.execute(f"INSERT INTO {t} DEFAULT VALUES")
            else:
                with self.con.cursor() as cur, cur.copy(
                        f"COPY {t} ({', '.join(map(q, names))}) FROM STDIN "
                        "(FORMAT BINARY)") as cp:
                    cp.set_types([_COPY_TYPES.get(cols[c], "text") if c != "geom"
                                  else "geometry" for c in names])
                    for r in rows:
                        cp.write_row(r)


_N, _DOC = "\x00", "\x01"  # places in a statement's text (no SQL text holds them)


def _number_sql(prefix: str, k: str) -> str:
    """SQL of the id numbered ``k`` (SQL expressions; ``prefix`` ends with '-'), written as
    :meth:`Inserts._next_numbers` writes it in Python: six digits at least."""
    return f"{prefix} || lpad(({k})::text, greatest(6, length(({k})::text)), '0')"


def _ids_sql(prefix: str, lo: str, hi: str) -> str:
    """SQL of the array of the ids numbered ``lo``..``hi``. Compared with ``id = ANY(...)``,
    which looks each up through the unique index; ``id IN (SELECT ...)`` is planned as a scan
    of the whole table (2 ms at 1,400 rows, growing with the layer)."""
    return f"ARRAY(SELECT {_number_sql(prefix, 'k')} FROM generate_series({lo}, {hi}) k)"


def _advance_sql(store, layer: str) -> str:
    """:meth:`Inserts._next_numbers`'s statement: advance the layer's counter by ``%(n)s``
    and return it with those of the ``%(n)s`` new ids already stored."""
    return (f"WITH s AS (UPDATE {store._t('bienmoc_sequences')} SET last = last + %(n)s "
            f"WHERE layer = %(layer)s RETURNING last) SELECT s.last, ARRAY(SELECT t.id FROM "
            f"{store._t(layer)} t WHERE t.id = ANY("
            f"{_ids_sql('%(prefix)s', 's.last - %(n)s + 1', 's.last')})) FROM s")


def _numbered_sql(store, layer: str, names: list[str], geom: bool, prefix: str) -> str:
    """The text of :meth:`Inserts._insert_numbered`'s statement, with ``_N`` where the number
    of rows goes and ``_DOC`` where the rows' JSON literal goes: values inline (a simple
    query, so that it can follow the lock in one round trip). The counter's UPDATE changes
    nothing when one of the ids it would hand out is stored; the rows then join no counter
    row and nothing is inserted."""
    from psycopg import sql

    t, seqs = store._t(layer), store._t("bienmoc_sequences")
    lit = sql.Literal(prefix + "-").as_string(None)
    cols = [*names, *(["geom"] if geom else [])]
    values = ", ".join(_number_sql(lit, f"s.last - {_N} + j.ordinality") if c == "id"
                       else f"j.{q(c)}" for c in cols)
    return (f"WITH s AS (UPDATE {seqs} SET last = last + {_N} WHERE layer = "
            f"{sql.Literal(layer).as_string(None)} AND NOT EXISTS (SELECT 1 FROM {t} WHERE id "
            f"= ANY({_ids_sql(lit, f'{seqs}.last + 1', f'{seqs}.last + {_N}')})) RETURNING "
            f"last) INSERT INTO {t} ({', '.join(map(q, cols))}) SELECT {values} FROM s, "
            f"json_populate_recordset(NULL::{t}, {_DOC}::json) WITH ORDINALITY AS j ORDER BY "
            "j.ordinality RETURNING id")
