"""``bienmoc store init|migrate|check|copy``: the store's schema and moving between stores."""
from __future__ import annotations

import click

from bienmoc.cli.lang import HELP
from bienmoc.cli.main import MSG, UserError, _t
from bienmoc.model.layers import SCHEMAS
from bienmoc.storage import STORE_ENV, open_store

MSG.update({
    "store_none": ("chưa chỉ định kho dữ liệu: dùng --store hoặc ${env}",
                   "no store named: give --store or set ${env}"),
    "store_applied": ("Đã áp dụng {n} bước cập nhật lược đồ cho {store}.",
                      "Applied {n} schema migration step(s) to {store}."),
    "store_current": ("Lược đồ của {store} đã ở phiên bản mới nhất.",
                      "The schema of {store} is up to date."),
    "store_granted": ("Đã cấp quyền cho vai trò ứng dụng {role} (không được sửa/xóa lịch sử).",
                      "Granted the application role {role} its rights (no update/delete of "
                      "history)."),
    "store_no_role": ("--app-role chỉ dùng với kho PostgreSQL/PostGIS",
                      "--app-role applies to PostgreSQL/PostGIS stores only"),
    "store_ok": ("Kho {store}: không có vấn đề.", "Store {store}: no problems."),
    "store_problems": ("Kho {store}: {n} vấn đề:", "Store {store}: {n} problem(s):"),
    "copy_layer": ("  {name:<18} {rows:>8} bản ghi  {state}", "  {name:<18} {rows:>8} rows  "
                   "{state}"),
    "copy_equal": ("khớp", "equal"),
    "copy_differs": ("KHÁC: {why}", "DIFFERS: {why}"),
    "copy_done": ("Đã chép {src} → {dst}: mọi lớp khớp.",
                  "Copied {src} -> {dst}: every layer is equal."),
    "copy_bad": ("Đã chép {src} → {dst} nhưng {n} lớp không khớp.",
                 "Copied {src} -> {dst} but {n} layer(s) differ."),
    "copy_same": ("nguồn và đích là cùng một kho", "source and target are the same store"),
})


HELP.update({
    "store": ("Lược đồ của kho dữ liệu (khởi tạo, nâng cấp, kiểm tra) và chép giữa các kho.",
              None),
    "store init": ("Tạo kho dữ liệu (PostGIS: lược đồ, các bảng và chỉ mục) hoặc cập nhật nó.",
                   None),
    "store migrate": ("Áp dụng các bước nâng cấp lược đồ còn thiếu (PostGIS: ghi trong "
                      "schema_migrations).", None),
    "store check": ("Báo những gì khác lược đồ mong đợi hoặc không đọc được; mã thoát 1 nếu có.",
                    None),
    "store copy": ("Chép mọi lớp của NGUỒN sang ĐÍCH (GeoPackage <-> PostGIS; các lớp của ĐÍCH "
                   "bị thay thế), giữ mã bản ghi, lịch sử và bộ đếm mã, rồi so sánh từng lớp.",
                   None),
    "store init --app-role": ("Vai trò PostgreSQL của ứng dụng (máy chủ): đọc và ghi các lớp, "
                              "chỉ được thêm (INSERT) vào các bảng lịch sử.", None),
    "store migrate --app-role": ("Vai trò PostgreSQL của ứng dụng (máy chủ): đọc và ghi các "
                                 "lớp, chỉ được thêm (INSERT) vào các bảng lịch sử.", None),
})


def _named(ctx) -> object:
    import os

    uri = ctx.find_root().obj.get("store_uri") or os.environ.get(STORE_ENV)
    if not uri:
        raise UserError("store_none", env=STORE_ENV)
    return open_store(uri)


def _migrate(ctx, app_role: str | None) -> None:
    store = _named(ctx)
    if app_role and not hasattr(store, "grant_app_role"):
        raise UserError("store_no_role")
    if hasattr(store, "migrate"):
        done = store.migrate()
    else:  # a GeoPackage: created/migrated inside its first write transaction
        with store.transaction():
            pass
        done = []
    click.echo(_t(ctx, "store_applied", n=len(done), store=store.uri) if done else
               _t(ctx, "store_current", store=store.uri))
    for name in done:
        click.echo(f"  {name}")
    if app_role:
        store.grant_app_role(app_role)
        click.echo(_t(ctx, "store_granted", role=app_role))


@click.group("store")
def store_group():
    """The store's schema (init, migrate, check) and copying between stores."""


_ROLE = click.option("--app-role", "app_role", default=None, metavar="ROLE",
                     help="PostgreSQL role of the application (the server): read and write "
                     "layers, only INSERT into history tables.")


@store_group.command("init")
@_ROLE
@click.pass_context
def init(ctx, app_role):
    """Create the store (PostGIS: the schema, its tables and indexes) or bring it up to date."""
    _migrate(ctx, app_role)


@store_group.command("migrate")
@_ROLE
@click.pass_context
def migrate(ctx, app_role):
    """Apply the pending schema migrations (PostGIS: recorded in schema_migrations)."""
    _migrate(ctx, app_role)


@store_group.command("check")
@click.pass_context
def check(ctx):
    """Report what differs from the expected schema or cannot be read; exit 1 if anything."""
    store = _named(ctx)
    problems = store.check() if hasattr(store, "check") else []
    if not problems:
        click.echo(_t(ctx, "store_ok", store=store.uri))
        return
    click.echo(_t(ctx, "store_problems", store=store.uri, n=len(problems)))
    for p in problems:
        click.echo(f"  - {p}")
    ctx.exit(1)


@store_group.command("copy")
@click.argument("src")
@click.argument("dst")
@click.pass_context
def copy(ctx, src, dst):
    """Copy every layer of SRC into DST (GeoPackage <-> PostGIS; DST's layers are replaced),
    keeping ids, history and id counters, then compare them layer by layer."""
    from bienmoc.storage.copy import compare_stores, copy_store

    a, b = open_store(src), open_store(dst)
    if a.uri == b.uri:
        raise UserError("copy_same")
    rows = copy_store(a, b)
    diff = compare_stores(a, b)
    lang = ctx.find_root().obj.get("lang") or "vi"
    for name, why in diff.items():
        title = ""
        if name in SCHEMAS:
            title = SCHEMAS[name].vi if lang == "vi" else SCHEMAS[name].en
        state = _t(ctx, "copy_equal") if why is None else _t(ctx, "copy_differs", why=why)
        click.echo(_t(ctx, "copy_layer", name=name, rows=rows.get(name, 0), state=state)
                   + (f"  ({title})" if title else ""))
    bad = [n for n, why in diff.items() if why is not None]
    if bad:
        click.echo(_t(ctx, "copy_bad", src=a.uri, dst=b.uri, n=len(bad)), err=True)
        ctx.exit(1)
    click.echo(_t(ctx, "copy_done", src=a.uri, dst=b.uri), err=True)
