"""Inserts of the PostGIS store's transaction: ids from the layer's counter, small batches in
one constant statement (JSON rows), bulk ones by binary COPY.

:class:`Inserts` is mixed into :class:`bienmoc.storage.postgis._Transaction` (which has
``store``, ``con``, ``_seqs``: the id counters read with the write lock)."""
from __future__ import annotations

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

    def _insert_numbered(self, layer: str, data, cols: dict[str, str], ids: list,
                         missing: list[int], prefix: str) -> bool:
        """The common small append in ONE round trip: the new ids numbered from the layer's
        counter as read with the write lock (``self._seqs``, kept up to date by this
        transaction), and the statement advances the counter and inserts only if the counter
        still holds that value and none of the new ids is stored (another editor's): else it
        changes nothing and returns False (the caller then allocates with
        :meth:`_next_numbers`, which skips taken ids)."""
        last = self._seqs.get(layer)
        if last is None or len(data) > COPY_ROWS:
            return False
        n = len(missing)
        new = [f"{prefix}-{last + k + 1:06d}" for k in range(n)]
        for i, v in zip(missing, new):
            ids[i] = v
        done = self._insert(layer, data, cols, ids, guard=(last, n, new))
        if done:
            self._seqs[layer] = last + n
            return True
        for i in missing:
            ids[i] = None
        self._seqs.pop(layer, None)
        return False

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
        row = self.con.execute(
            f"WITH s AS (UPDATE {seqs} SET last = last + %(n)s WHERE layer = %(layer)s "
            "RETURNING last) SELECT s.last, ARRAY(SELECT t.id FROM "
            f"{self.store._t(layer)} t WHERE t.id IN (SELECT %(prefix)s || '-' || "
            "lpad(k::text, greatest(6, length(k::text)), '0') FROM "
            "generate_series(s.last - %(n)s + 1, s.last) k)) FROM s",
            {"n": n, "layer": layer, "prefix": prefix}).fetchone()
        if row is not None:
            last = int(row[0])
            taken = set(row[1] or ())
            out = [c for c in (f"{prefix}-{last - n + k + 1:06d}" for k in range(n))
                   if c not in taken]
            if len(out) == n:
                self._seqs[layer] = last
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
        self._seqs[layer] = last
        return out

    def _insert(self, layer: str, data, cols: dict[str, str], ids: list | None = None,
                guard: tuple | None = None) -> bool:
        """Insert the rows; False (nothing written) only when ``guard`` (see
        :meth:`_insert_numbered`) did not hold or the batch cannot be sent that way."""
        gname = getattr(data, "_geometry_column_name", None)
        geo = isinstance(data, gpd.GeoDataFrame) and gname in data.columns
        names = []
        for c in data.columns:
            if geo and c == gname:
                continue
            if c not in cols or c in ("fid", "geom"):
                raise StorageError(f"layer {layer!r} has no field {c!r}")
            names.append(str(c))
        psycopg = _psycopg()
        try:
            if names and len(data) <= COPY_ROWS:
                done = self._insert_json(layer, data, cols, names, ids,
                                         gname if geo and "geom" in cols else None, guard)
                if done is not None:
                    return done
            if guard is not None:
                return False
            self._insert_rows(layer, data, cols, names, ids, gname, geo)
            return True
        except psycopg.errors.UniqueViolation as e:
            if IDEMPOTENCY in str(e) or "_idem" in str(e):
                raise DuplicateKey(layer, [str(k) for k in data[IDEMPOTENCY].dropna()]
                                   ) from None
            raise DuplicateKey(layer, [str(v) for v in (ids or data.get("id", []))]) from None
        except psycopg.errors.CheckViolation as e:
            raise StorageError(f"layer {layer!r}: a value is not allowed ({e.diag.message_primary}"
                               ")") from None

    def _insert_json(self, layer: str, data, cols: dict[str, str], names: list[str],
                     ids: list | None, gname: str | None, guard: tuple | None = None
                     ) -> bool | None:
        """A small batch in ONE statement whose text depends only on the layer and its column
        set: the rows travel as one JSON parameter read by ``json_populate_recordset`` into
        the table's own row type (each value parsed by its column's input function: exact
        dates, floats, EWKB geometry). Constant text lets psycopg cache its conversion and
        prepare it server-side after a few uses. None when a value cannot be sent as JSON;
        with ``guard`` = (counter value, n, new ids), the statement also advances the layer's
        id counter, and writes nothing (False) unless the counter held that value and none of
        the ids is stored."""
        try:
            doc = _json_rows(data, names, cols, ids if "id" in names else None, gname)
        except (TypeError, ValueError):
            return None
        key = (layer, tuple(names), gname is not None, guard is not None)
        sql = self.store._json_sql.get(key)
        if sql is None:
            t = self.store._t(layer)
            cl = ", ".join(map(q, [*names, *(["geom"] if gname is not None else [])]))
            sql = (f"INSERT INTO {t} ({cl}) SELECT {cl} FROM json_populate_recordset("
                   f"NULL::{t}, %s::json)")
            if guard is not None:
                sql = (f"WITH s AS (UPDATE {self.store._t('bienmoc_sequences')} SET last = "
                       "last + %s WHERE layer = %s AND last = %s AND NOT EXISTS (SELECT 1 "
                       f"FROM {t} WHERE id = ANY(%s::text[])) RETURNING 1) " + sql +
                       " WHERE EXISTS (SELECT 1 FROM s)")
            self.store._json_sql[key] = sql
        if guard is not None:
            last, n, new = guard
            cur = self.con.execute(sql, (n, layer, last, new, doc))
            return cur.rowcount == len(data)
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
