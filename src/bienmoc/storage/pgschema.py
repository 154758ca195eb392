"""The PostGIS store's schema: versioned migrations generated from :data:`SCHEMAS`.

Every layer of :mod:`bienmoc.model.layers` is one table in the store's schema (``?schema=`` of
the URL): ``fid bigint`` identity primary key, the fields typed from the :class:`Field` types
(text/int/float/bool/date -> text/bigint/double precision/boolean/date; enums are text with a
CHECK constraint listing the codes), the nullable ``idempotency_key`` (UNIQUE when set, as in
the GeoPackage store), ``geom geometry(Geometry, 4326)`` with a GiST index for layers with a
geometry, ``id`` UNIQUE and the layer's key (markers: border + number) UNIQUE.

References (``works.marker_from``, ``inspections.marker``, ``work_progress.work_id`` ...) are
*not* foreign keys, as in the GeoPackage store: they name a marker by its number on a border
(not by a key column the target holds alone), and the rule layer
(:mod:`bienmoc.records.rules`) checks them with documented overrides - a record may be entered
before its marker is, when the user overrides the rule.

History is append-only in the database as well: :data:`HISTORY` tables (the change log,
inspections, work progress, resurveys: the layers the GeoPackage store only ever appends to
through the write path) carry a trigger that refuses any UPDATE, and ``grant_app_role`` gives
the application role only SELECT and INSERT on them (no UPDATE, DELETE, TRUNCATE): replacing a
history layer whole (``bienmoc store copy``, a demo seed) is the owner's operation.

Migrations are named steps recorded in ``schema_migrations`` (step, checksum, applied_at):
``0001_base`` (bookkeeping tables and trigger functions), one ``layer:<name>`` per layer, then
``column:<layer>.<field>`` for a field added to an existing table later and
``check:<layer>.<field>@<hash>`` for each enum CHECK (a changed list of codes is a new step
that replaces the constraint). :func:`plan` lists the pending steps; :func:`migrate` applies
them in one transaction under an advisory lock, so two processes never migrate at once.
"""
from __future__ import annotations

import hashlib

from bienmoc.model.layers import SCHEMAS

__all__ = ["HISTORY", "LOG_COLUMNS", "plan", "migrate", "check", "grant_app_role",
           "PG_TYPES", "q"]

#: Field types -> PostgreSQL column types
PG_TYPES = {"text": "text", "int": "bigint", "float": "double precision", "bool": "boolean",
            "date": "date",
            # ISO 8601 text keeping its UTC offset, as in the GeoPackage (timestamptz would
            # normalise it to UTC and lose the offset the patrol's device recorded)
            "datetime": "text"}
#: The change log of updated records (see :data:`bienmoc.records.INCIDENT_LOG`).
LOG_LAYER = "incident_changes"
LOG_COLUMNS = ("record_id", "field", "old_value", "new_value", "changed_at", "note",
               "changed_by")
#: Append-only tables: UPDATE refused by trigger; the application role may only INSERT.
HISTORY = ("inspections", "work_progress", "resurveys", LOG_LAYER)
IDEMPOTENCY = "idempotency_key"
MIGRATION_LOCK = 0x6269656E  # advisory lock key of migrations ("bien")


def q(*names: str) -> str:
    """Quoted (schema-qualified) identifier; names come from code, never from requests."""
    return ".".join('"' + str(n).replace('"', '""') + '"' for n in names)


def lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _base(s: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {q(s, 'bienmoc_meta')} (key text PRIMARY KEY, "
        "value bigint NOT NULL)",
        f"INSERT INTO {q(s, 'bienmoc_meta')} VALUES ('writes', 0) ON CONFLICT DO NOTHING",
        # one row per table: written yet? (layers()), generation (bumped by deletes: a
        # replace), last change (strictly increasing)
        f"CREATE TABLE IF NOT EXISTS {q(s, 'bienmoc_layers')} (layer text PRIMARY KEY, "
        "ord serial, present boolean NOT NULL DEFAULT false, history boolean NOT NULL "
        "DEFAULT false, generation bigint NOT NULL DEFAULT 0, last_change timestamptz)",
        f"CREATE TABLE IF NOT EXISTS {q(s, 'bienmoc_sequences')} (layer text PRIMARY KEY, "
        "last bigint NOT NULL)",
        # statement-level: any write of any client (bienmoc, QGIS, psql) changes the token
        f"""CREATE OR REPLACE FUNCTION {q(s, 'bienmoc_touch')}() RETURNS trigger
        LANGUAGE plpgsql AS $f$
        BEGIN
          UPDATE {q(s, 'bienmoc_layers')} SET present = true,
            generation = generation + (TG_OP IN ('DELETE', 'TRUNCATE'))::int,
            last_change = greatest(clock_timestamp(),
                                   last_change + interval '1 microsecond')
            WHERE layer = TG_TABLE_NAME;
          UPDATE {q(s, 'bienmoc_meta')} SET value = value + 1 WHERE key = 'writes';
          RETURN NULL;
        END $f$""",
        f"""CREATE OR REPLACE FUNCTION {q(s, 'bienmoc_history_guard')}() RETURNS trigger
        LANGUAGE plpgsql AS $f$
        BEGIN
          RAISE EXCEPTION 'layer % is append-only history: its rows cannot be updated',
            TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END $f$""",
    ]


def layer_columns(layer: str) -> list[tuple[str, str]]:
    """[(column, PostgreSQL type)] of a layer, without fid and geom."""
    if layer == LOG_LAYER:
        return [(c, "text") for c in LOG_COLUMNS]
    s = SCHEMAS[layer]
    cols = [(f.name, "text" if f.is_enum else PG_TYPES[f.type]) for f in s.fields]
    return cols + [(IDEMPOTENCY, "text")]


def has_geometry(layer: str) -> bool:
    return layer in SCHEMAS and bool(SCHEMAS[layer].geometry_types)


def create_table_sql(s: str, layer: str, columns: list[tuple[str, str]], geometry: bool,
                     history: bool) -> list[str]:
    """DDL of one table with its indexes and triggers (also used for layers outside SCHEMAS,
    created on their first write)."""
    t = q(s, layer)
    defs = ["fid bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"]
    defs += [f"{q(c)} {typ}" for c, typ in columns]
    if geometry:
        defs.append("geom geometry(Geometry, 4326)")
    names = [c for c, _ in columns]
    if "id" in names:
        defs.append(f"CONSTRAINT {q(layer + '_id_key')} UNIQUE (id)")
    key = SCHEMAS[layer].key if layer in SCHEMAS else ()
    if key and key != ("id",):
        defs.append(f"CONSTRAINT {q(layer + '_key')} UNIQUE ({', '.join(map(q, key))})")
    out = [f"CREATE TABLE {t} ({', '.join(defs)})"]
    if IDEMPOTENCY in names:
        out.append(f"CREATE UNIQUE INDEX {q(layer + '_idem')} ON {t} ({IDEMPOTENCY}) "
                   f"WHERE {IDEMPOTENCY} IS NOT NULL")
    if geometry:
        out.append(f"CREATE INDEX {q(layer + '_geom_gist')} ON {t} USING gist (geom)")
    out.append(f"CREATE TRIGGER bienmoc_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
               f"ON {t} FOR EACH STATEMENT EXECUTE FUNCTION {q(s, 'bienmoc_touch')}()")
    if history:
        out.append(f"CREATE TRIGGER bienmoc_history_guard BEFORE UPDATE ON {t} FOR EACH "
                   f"STATEMENT EXECUTE FUNCTION {q(s, 'bienmoc_history_guard')}()")
    out.append(f"INSERT INTO {q(s, 'bienmoc_layers')} (layer, history) VALUES "
               f"({lit(layer)}, {str(history).lower()}) ON CONFLICT (layer) DO NOTHING")
    return out


def _check_sql(s: str, layer: str, field) -> tuple[str, list[str]]:
    codes = [m.value for m in field.type]
    name = q(f"ck_{layer}_{field.name}")
    body = (f"CHECK ({q(field.name)} IN ({', '.join(lit(c) for c in codes)}))")
    h = hashlib.sha1(body.encode()).hexdigest()[:10]
    return (f"check:{layer}.{field.name}@{h}",
            [f"ALTER TABLE {q(s, layer)} DROP CONSTRAINT IF EXISTS {name}",
             f"ALTER TABLE {q(s, layer)} ADD CONSTRAINT {name} {body}"])


def _layers() -> list[str]:
    return [*SCHEMAS, LOG_LAYER]


def plan(con, s: str) -> list[tuple[str, list[str]]]:
    """The pending migration steps [(name, [sql])] of schema ``s``, in order."""
    applied: set[str] = set()
    present: dict[str, set] = {}
    if _exists(con, s, "schema_migrations"):
        applied = {r[0] for r in con.execute(f"SELECT step FROM {q(s, 'schema_migrations')}")}
        for t, c in con.execute("SELECT table_name, column_name FROM "
                                "information_schema.columns WHERE table_schema = %s", (s,)):
            present.setdefault(t, set()).add(c)
    steps: list[tuple[str, list[str]]] = []
    if "0001_base" not in applied:
        steps.append(("0001_base", _base(s)))
    for layer in _layers():
        name = f"layer:{layer}"
        cols = layer_columns(layer)
        if name not in applied:
            steps.append((name, create_table_sql(s, layer, cols, has_geometry(layer),
                                                 layer in HISTORY)))
        else:  # fields added to the schema since the table was made
            have = present.get(layer, set())
            for c, typ in cols:
                if c not in have:
                    steps.append((f"column:{layer}.{c}",
                                  [f"ALTER TABLE {q(s, layer)} ADD COLUMN {q(c)} {typ}"]))
        if layer in SCHEMAS:
            for f in SCHEMAS[layer].fields:
                if f.is_enum:
                    step = _check_sql(s, layer, f)
                    if step[0] not in applied:
                        steps.append(step)
    return steps


def _exists(con, s: str, table: str) -> bool:
    return con.execute("SELECT to_regclass(%s) IS NOT NULL", (q(s, table),)).fetchone()[0]


def migrate(con, s: str) -> list[str]:
    """Apply the pending steps to schema ``s`` (creating it and the postgis extension when
    missing) in one transaction; the names of the steps applied. ``con``: autocommit."""
    from bienmoc.errors import StorageError

    with con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        if not con.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
            try:
                with con.transaction():
                    con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except Exception as e:  # noqa: BLE001 - reported with the fix
                raise StorageError(f"the database has no PostGIS and this role cannot add it "
                                   f"({e}); as a superuser: CREATE EXTENSION postgis") from None
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {q(s)}")
        con.execute(f"CREATE TABLE IF NOT EXISTS {q(s, 'schema_migrations')} (step text "
                    "PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL "
                    "DEFAULT now())")
        done = []
        for name, sqls in plan(con, s):
            for sql in sqls:
                con.execute(sql)
            digest = hashlib.sha1("\n".join(sqls).encode()).hexdigest()
            con.execute(f"INSERT INTO {q(s, 'schema_migrations')} (step, checksum) "
                        "VALUES (%s, %s)", (name, digest))
            done.append(name)
        return done


def check(con, s: str) -> list[str]:
    """Differences between schema ``s`` and what bienmoc expects (empty: up to date)."""
    if not con.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (s,)).fetchone():
        return [f"schema {s!r} does not exist (run: bienmoc store init)"]
    problems = [f"pending migration {name}" for name, _ in plan(con, s)]
    types = {(t, c): dt for t, c, dt in con.execute(
        "SELECT table_name, column_name, CASE WHEN data_type = 'USER-DEFINED' THEN udt_name "
        "ELSE data_type END FROM information_schema.columns WHERE table_schema = %s", (s,))}
    for layer in _layers():
        for c, typ in layer_columns(layer):
            got = types.get((layer, c))
            if got is not None and got != typ:
                problems.append(f"column {layer}.{c} is {got}, expected {typ}")
        if has_geometry(layer) and (layer, "geom") in types:
            ok = con.execute("SELECT 1 FROM pg_indexes WHERE schemaname = %s AND tablename = %s "
                             "AND indexdef ILIKE '%%using gist%%'", (s, layer)).fetchone()
            if not ok:
                problems.append(f"layer {layer} has no GiST index on geom")
        if layer in HISTORY and (layer, "fid") in types:
            ok = con.execute("SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND "
                             "tgname = 'bienmoc_history_guard'", (q(s, layer),)).fetchone()
            if not ok:
                problems.append(f"history layer {layer} lacks its append-only trigger")
    return problems


def grant_app_role(con, s: str, role: str) -> None:
    """Rights of the application role (the server's): read everything, write layers, only
    INSERT on history tables (no UPDATE/DELETE/TRUNCATE), bookkeeping rows it must bump."""
    with con.transaction():
        con.execute(f"GRANT USAGE ON SCHEMA {q(s)} TO {q(role)}")
        tables = [r[0] for r in con.execute(
            f"SELECT layer FROM {q(s, 'bienmoc_layers')}")]
        for t in tables:
            con.execute(f"REVOKE ALL ON {q(s, t)} FROM {q(role)}")
            rights = "SELECT, INSERT" if t in HISTORY else "SELECT, INSERT, UPDATE, DELETE"
            con.execute(f"GRANT {rights} ON {q(s, t)} TO {q(role)}")
        con.execute(f"GRANT SELECT ON {q(s, 'schema_migrations')} TO {q(role)}")
        for t in ("bienmoc_meta", "bienmoc_layers", "bienmoc_sequences"):
            con.execute(f"GRANT SELECT, INSERT, UPDATE ON {q(s, t)} TO {q(role)}")
        con.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {q(s)} TO {q(role)}")
