"""``bienmoc users``: the store's users, their roles and API tokens (:mod:`bienmoc.users`).

``add`` prints the new token once (the store keeps only its SHA-256); ``list`` never shows
tokens or hashes; ``disable`` revokes a user's token (the user stays named in the logs).
"""
from __future__ import annotations

import json

import click
import pandas as pd

from bienmoc.cli.lang import HELP
from bienmoc.cli.main import _WHAT_VI, MSG, _emit_table, _store, _t
from bienmoc.users import ROLES

_WHAT_VI["user"] = "người dùng"

MSG.update({
    "user_added": ("Đã tạo người dùng '{name}' (vai trò {role}). Mã truy cập (token) chỉ hiện "
                   "MỘT lần này, hãy lưu lại ngay:",
                   "Created user '{name}' (role {role}). The token is shown this ONCE; keep it "
                   "now:"),
    "user_use": ("Gửi kèm mỗi yêu cầu ghi: Authorization: Bearer <token>",
                 "Send it with every write: Authorization: Bearer <token>"),
    "user_disabled": ("Đã vô hiệu hóa người dùng '{name}': mã truy cập của họ không còn dùng "
                      "được.", "Disabled user '{name}': their token no longer works."),
    "no_users": ("Kho dữ liệu chưa có người dùng nào (tạo bằng: bienmoc users add TÊN --role "
                 "reporter).", "The store has no users yet (create one: bienmoc users add NAME "
                 "--role reporter)."),
})

HELP.update({
    "users": ("Người dùng, vai trò và mã truy cập API.\n\nVai trò: reader (chỉ đọc) < reporter "
              "(báo cáo hiện trường: thêm vụ việc, kiểm tra - POST) < editor (biên tập: sửa vụ "
              "việc - PATCH) < admin (quản trị: mọi quyền).", None),
    "users add": ("Tạo người dùng TÊN với một vai trò; mã truy cập chỉ in ra một lần.", None),
    "users add --role": ("Vai trò: reader (chỉ đọc), reporter (POST), editor (POST, PATCH) "
                         "hoặc admin (quản trị).", None),
    "users list": ("Danh sách người dùng và vai trò (không bao giờ in mã truy cập hay giá trị "
                   "băm).", None),
    "users disable": ("Vô hiệu hóa người dùng TÊN: mã truy cập của họ bị từ chối từ nay.", None),
})

#: Column headers of ``users list`` (the users table is not a border layer: no schema labels).
_HEADERS = {
    "vi": {"name": "Tên", "role": "Vai trò", "created_at": "Tạo lúc (UTC)",
           "disabled": "Vô hiệu hóa", "disabled_at": "Vô hiệu hóa lúc (UTC)"},
    "en": {"name": "Name", "role": "Role", "created_at": "Created (UTC)",
           "disabled": "Disabled", "disabled_at": "Disabled at (UTC)"},
}

#: The roles in Vietnamese, for the table and the help.
ROLE_VI = {"reader": "chỉ đọc", "reporter": "báo cáo hiện trường", "editor": "biên tập",
           "admin": "quản trị"}


@click.group()
def users():
    """Users, their roles and API tokens.

    Roles: reader < reporter (may add incidents and inspections: POST) < editor (may also
    change incidents: PATCH) < admin (everything)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="reader | reporter (POST) | editor (POST, PATCH) | admin.")
@click.pass_context
def users_add(ctx, name, role):
    """Create user NAME with a role; print the token once."""
    from bienmoc.users import add_user

    user, token = add_user(_store(ctx, create=True), name, role)
    click.echo(_t(ctx, "user_added", name=user.name, role=_role(ctx, user.role)), err=True)
    click.echo(token)  # alone on stdout: TOKEN=$(bienmoc users add ...)
    click.echo(_t(ctx, "user_use"), err=True)


@users.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.pass_context
def users_list(ctx, fmt):
    """The users and their roles (never tokens or hashes)."""
    from bienmoc.users import list_users

    df = list_users(_store(ctx))
    if fmt == "json":
        click.echo(json.dumps(df.astype(object).where(df.notna(), None).to_dict("records"),
                              ensure_ascii=False, indent=2))
        return
    if not len(df) and fmt == "table":
        click.echo(_t(ctx, "no_users"))
        return
    lang = ctx.find_root().obj.get("lang", "vi")
    shown = df.copy()
    if lang == "vi":
        shown["role"] = [f"{r} ({ROLE_VI.get(r, r)})" for r in shown["role"]]
    shown["disabled"] = [("có" if d else "không") if lang == "vi" else ("yes" if d else "no")
                         for d in shown["disabled"]]
    shown = shown.astype(object).where(pd.notna(shown), "")
    _emit_table(shown, fmt, None, headers=_HEADERS.get(lang, _HEADERS["en"]))


@users.command("disable")
@click.argument("name")
@click.pass_context
def users_disable(ctx, name):
    """Disable user NAME: their token is refused from now on."""
    from bienmoc.users import disable_user

    user = disable_user(_store(ctx), name)
    click.echo(_t(ctx, "user_disabled", name=user.name))


def _role(ctx, role: str) -> str:
    lang = ctx.find_root().obj.get("lang", "vi")
    return f"{role} ({ROLE_VI[role]})" if lang == "vi" else role
