"""The ``bienmoc`` command group: global options and the helpers its commands share.

The commands live one module per group (``status``, ``io``, ``analysis``, ``progress``,
``record``, ``serve``, ``terrain``) and are a thin shell over the library's public functions.

Every command opens the store named by ``--store`` / ``$BIENMOC_STORE`` (or the per-user demo
store), calls one library function and formats its result. Library errors become a message on
stderr and a non-zero exit code; nothing here computes anything the library does not expose.

How to add a command in both languages
--------------------------------------
Everything a command shows follows ``--lang`` / ``$BIENMOC_LANG`` (Vietnamese by default):

1. **Help.** Write the docstring and the options' ``help=`` in English as usual, and put the
   Vietnamese next to your module: ``from bienmoc.cli.lang import HELP`` then
   ``HELP.update({"report": ("Báo cáo định kỳ ...", None), "report --period": ("Kỳ báo cáo
   ...", None)})`` - keys are the command path without ``bienmoc`` and ``"<path> --option"``;
   shared options (``--border``, ``--format``, ``--output``, ``--as-of`` ...) already have
   texts under their bare name. Nothing else to do: the root group installs
   :class:`bienmoc.cli.lang.LangContext` on every registered command, which shows the texts of
   the reader's language at ``--help`` time.
2. **Messages.** ``MSG.update({"key": ("vi ...", "en ...")})`` and ``raise UserError("key",
   ...)`` or ``click.echo(_t(ctx, "key", ...))``; library errors (English) are rendered in
   Vietnamese by :func:`bienmoc.messages.to_vi` - add a pattern there for a new message.
3. **Tables.** Call ``_emit_table(df, fmt, output, layer="markers")`` (:mod:`bienmoc.cli.tables`,
   also importable from here) with the raw frame
   (field names, enum codes, numbers, dates, booleans): headers come from the schema labels of
   ``layer`` or from :data:`bienmoc.model.labels.DERIVED` (add your computed columns there),
   enum codes become labels, numbers ``3.785,7`` / ``3,785.7``, dates ``dd/mm/yyyy`` /
   ``yyyy-mm-dd``, booleans Có/Không / Yes/No, missing values "—" (:mod:`bienmoc.fmt`). Give
   twin text columns as ``x_vi`` / ``x_en``: the other language's is dropped. XLSX goes through
   the same labels (``_write_sheets`` for several sheets); CSV/JSON stay data for scripts.
4. **Numbers and dates in sentences**: :func:`bienmoc.fmt.fmt_number`,
   :func:`bienmoc.fmt.fmt_date`, :func:`bienmoc.fmt.fmt_length`.
5. ``tests/test_cli_lang.py`` runs every command of the tree in both languages (``--help`` and
   a real run); add the arguments your command needs to its ``ARGS`` table.
"""
from __future__ import annotations

import datetime as _dt
import difflib
import json
import os
import re
import sys
import unicodedata
from pathlib import Path

import click
import pandas as pd

from bienmoc.model.places import ascii_fold
from bienmoc.model.labels import in_lang
from bienmoc.io.files import XY_ORDERS
from bienmoc.demo import default_store_path, open_store
from bienmoc.errors import BienmocError, InvalidData
from bienmoc.cli.lang import LangContext, argv_lang, install
from bienmoc.messages import to_vi
from bienmoc.model.dates import parse_date
from bienmoc.storage import STORE_ENV

#: CLI messages in Vietnamese and English (``--lang`` / ``$BIENMOC_LANG``).
MSG = {
    "using_demo": ("bienmoc: dùng kho dữ liệu mẫu {path}", "bienmoc: using the demo store {path}"),
    "using": ("bienmoc: kho dữ liệu {path}", "bienmoc: store {path}"),
    "imported": ("Đã nhập {n} bản ghi vào lớp '{kind}' ({store}).",
                 "Imported {n} records into layer '{kind}' ({store})."),
    "imported_field": ("Đã nhập {n} bản ghi từ {tool} vào lớp '{kind}' ({store}); bỏ qua {skipped} "
                       "bản ghi đã nhập trước đó, {rejected} bản ghi bị từ chối khi duyệt.",
                       "Imported {n} records from {tool} into layer '{kind}' ({store}); skipped "
                       "{skipped} imported before, {rejected} rejected in review."),
    "form_built": ("Đã ghi biểu mẫu XLSForm ({kind}) vào {path}.",
                   "Wrote the XLSForm ({kind}) to {path}."),
    "invalid": ("Không nhập được {file}: {n} lỗi, kho dữ liệu không thay đổi.",
                "Cannot import {file}: {n} problem(s); the store is unchanged."),
    "invalid_record": ("Không ghi được {file}: {n} lỗi, kho dữ liệu không thay đổi.",
                       "Cannot record the {file}: {n} problem(s); the store is unchanged."),
    "row": ("dòng {row}", "row {row}"),
    "field": ("trường '{field}'", "field '{field}'"),
    "error": ("Lỗi: {msg}", "Error: {msg}"),
    "help": ("xem: {cmd} --help", "see: {cmd} --help"),
    "bad_value": ("giá trị không hợp lệ cho {hint}: {msg}", "invalid value for {hint}: {msg}"),
    "exported": ("Đã xuất {n} bản ghi ra {out}.", "Exported {n} records to {out}."),
    "serving": ("Bản đồ tổng quan: http://{host}:{port}/maps/overview",
                "Overview map: http://{host}:{port}/maps/overview"),
    "total": ("Tổng", "Total"),
    "no_store": ("không có kho dữ liệu {path} (kiểm tra lại đường dẫn --store / ${env}; lệnh "
                 "import và record sẽ tạo kho mới)",
                 "no store at {path} (check the --store path / ${env}; import and record "
                 "create a new store)"),
    "not_gpkg": ("{path} không phải tệp GeoPackage (.gpkg) của bienmoc",
                 "{path} is not a bienmoc GeoPackage (.gpkg) file"),
    "_raw": ("{text}", "{text}"),  # a message already in the CLI's language
    "unknown": ("không có {what} '{value}'", "unknown {what}: '{value}'"),
    "did_you_mean": ("có phải: {near}?", "did you mean: {near}?"),
    "valid": ("các giá trị hợp lệ: {valid}", "valid values: {valid}"),
    "none_valid": ("kho dữ liệu chưa có {what} nào", "the store holds no {what}"),
    "what_border": ("tuyến biên giới", "border"),
    "what_province": ("tỉnh", "province"),
    "what_kind": ("loại", "kind"),
    "what_status": ("trạng thái", "status"),
    "what_field": ("trường để nhóm", "grouping field"),
    "no_crs": ("tệp {file} không khai báo hệ tọa độ và tọa độ ({x:.1f}, {y:.1f}) không phải kinh "
               "độ/vĩ độ: hãy khai báo hệ tọa độ nguồn, ví dụ --crs EPSG:3405 cho VN-2000 / UTM "
               "48N",
               "{file} declares no CRS and its coordinates ({x:.1f}, {y:.1f}) are not longitude/"
               "latitude: give the source CRS, e.g. --crs EPSG:3405 for VN-2000 / UTM 48N"),
    "bad_crs": ("hệ tọa độ không hợp lệ hoặc không có trong cơ sở dữ liệu PROJ: {crs}",
                "unknown or invalid CRS: {crs}"),
    "not_metric": ("hệ tọa độ {crs} không phải hệ tọa độ phẳng (mét): khoảng cách cần đơn vị "
                   "mét, ví dụ EPSG:32648 (UTM 48N)",
                   "CRS {crs} is not projected in metres: distances need metres, e.g. "
                   "EPSG:32648 (UTM 48N)"),
    "csv_quote": ("tệp CSV có dấu ngoặc kép \" chưa đóng (bắt đầu ở dòng {line})",
                  "the CSV file has an unclosed quote \" (starting at line {line})"),
    "csv_fields": ("tệp CSV: dòng {line} có {saw} cột, dòng tiêu đề có {expected} cột",
                   "CSV file: line {line} has {saw} fields, the header has {expected}"),
    "csv_bad": ("không đọc được tệp CSV: {msg}", "cannot read the CSV file: {msg}"),
    "file_error": ("không mở được tệp {file}: {reason}", "cannot open {file}: {reason}"),
    "read_error": ("không đọc được tệp: {msg}", "cannot read the file: {msg}"),
    "encoding": ("tệp không đúng bảng mã {enc}; hãy lưu dạng UTF-8 hoặc dùng --encoding",
                 "the file is not valid {enc}; save it as UTF-8 or use --encoding"),
    "no_dir": ("không có thư mục {dir}", "no such folder: {dir}"),
    "from_after_to": ("--from {start:%d/%m/%Y} sau --to {end:%d/%m/%Y}", "--from {start} is after --to {end}"),
    "written": ("Đã ghi {n} dòng vào {out}.", "Wrote {n} rows to {out}."),
    "aborted": ("Đã hủy.", "Aborted!"),
    "n_problems": ("{n} lỗi", "{n} problem(s)"),
    "no_rows": ("(không có dòng nào)", "(no rows)"),
    "internal": ("lỗi không lường trước ({kind}: {msg}); đặt BIENMOC_DEBUG=1 để xem chi tiết",
                 "unexpected error ({kind}: {msg}); set BIENMOC_DEBUG=1 for the details"),
}

#: What a record command was writing (``InvalidData.what``), in Vietnamese.
_WHAT_VI = {"progress": "cập nhật tiến độ", "inspection": "kết quả kiểm tra",
            "resurvey": "đo đạc lại vị trí mốc", "incident": "vụ việc"}

#: errno -> the Vietnamese reason (the English one is the system's ``strerror``).
_OS_REASONS_VI = {2: "không tồn tại", 13: "không có quyền truy cập", 20: "không phải thư mục",
                  21: "là một thư mục", 28: "hết chỗ trên đĩa", 30: "hệ thống tệp chỉ đọc"}


def _lang(ctx: click.Context | None = None) -> str:
    """'vi' or 'en': ``--lang``, else ``$BIENMOC_LANG``, else Vietnamese (``ctx`` defaults to
    the current click context)."""
    if ctx is None:
        ctx = click.get_current_context(silent=True)
    obj = (ctx.find_root().obj if ctx is not None else None) or {}
    lang = obj.get("lang") or os.environ.get("BIENMOC_LANG")
    return "en" if lang == "en" else "vi"


def _t(ctx: click.Context | None, key: str, **kw) -> str:
    return in_lang(MSG[key], _lang(ctx)).format(**kw)


class UserError(BienmocError):
    """A mistake on the command line; ``key``/``kw`` name its message in :data:`MSG`."""

    def __init__(self, key: str, **kw):
        self.key, self.kw = key, kw
        super().__init__(MSG[key][1].format(**kw))

    def text(self, ctx) -> str:
        return _t(ctx, self.key, **self.kw)


def nfc(text: str | None) -> str | None:
    """Text in Unicode NFC (Unikey's "Unicode tổ hợp" types decomposed NFD)."""
    return None if text is None else unicodedata.normalize("NFC", text)


def _choose(ctx, what: str, value: str, valid, shown=None) -> str:
    """``value`` as one of ``valid`` (case-insensitive, NFC); else a :class:`UserError` listing
    the nearest valid values (difflib over accent-folded names: 'Son La' -> 'Sơn La').

    ``shown`` maps a valid value to how it is listed (e.g. an enum code with its labels).
    """
    valid = [v for v in dict.fromkeys(valid) if isinstance(v, str) and v]
    text = nfc(value).strip()
    for v in valid:
        if v.casefold() == text.casefold():
            return v
    show = shown or {}
    what_text = _t(ctx, f"what_{what}")
    msg = _t(ctx, "unknown", what=what_text, value=value)
    folded: dict[str, str] = {}
    for v in valid:
        folded.setdefault(ascii_fold(v), v)
    near = difflib.get_close_matches(ascii_fold(text), list(folded), n=3, cutoff=0.6)
    if not valid:
        raise UserError("_raw", text=f"{msg}; {_t(ctx, 'none_valid', what=what_text)}")
    if near:
        names = ", ".join(dict.fromkeys(show.get(folded[n], folded[n]) for n in near))
        tail = _t(ctx, "did_you_mean", near=names)
    else:
        tail = _t(ctx, "valid", valid=", ".join(dict.fromkeys(show.get(v, v) for v in valid)))
    raise UserError("_raw", text=f"{msg}; {tail}")


def _layer_values(ctx, layers_fields) -> list[str]:
    store = _store(ctx)
    have = set(store.layers())
    out: list[str] = []
    for layer, field in layers_fields:
        if layer in have:
            df = store.read(layer)
            if field in df:
                out += [nfc(v) for v in df[field].dropna().unique().tolist()]
    return sorted(set(out))


def border_option(ctx, value: str | None) -> str | None:
    """A ``--border`` value checked against the borders in the store (upper-cased)."""
    if value is None:
        return None
    return _choose(ctx, "border", nfc(value).strip().upper(),
                   _layer_values(ctx, [("boundary", "border"), ("markers", "border")]))


def province_option(ctx, value: str | None) -> str | None:
    """A ``--province`` value checked against the provinces in the store (NFC)."""
    if value is None:
        return None
    return _choose(ctx, "province", value,
                   _layer_values(ctx, [("provinces", "name"), ("markers", "province")]))


def enum_option(ctx, enum, value: str | None, what: str = "kind") -> str | None:
    """An enum filter (``what``: 'kind' or 'status') given as a code or a vi/en label
    (``Enum.parse``), as its code; else an error listing the nearest codes with labels."""
    if value is None:
        return None
    try:
        return enum.parse(nfc(value)).value
    except ValueError:
        pass
    names = {}
    for m in enum:
        for name in (m.value, m.vi, m.en):
            names.setdefault(name, m)
    shown = {n: f"{m.value} ({m.vi} / {m.en})" for n, m in names.items()}
    return enum.parse(_choose(ctx, what, value, list(names), shown)).value


def fields_option(ctx, text: str, allowed) -> list[str]:
    """A comma-separated ``--by`` list, each field checked against ``allowed``."""
    return [_choose(ctx, "field", f.strip(), list(allowed)) for f in nfc(text).split(",")
            if f.strip()]


class DateType(click.ParamType):
    """Every date option (``--from``, ``--to``, ``--as-of``, ``--date``): ISO ``YYYY-MM-DD`` or
    ``dd/mm/yyyy`` (day first), via the one parser :func:`bienmoc.model.dates.parse_date`."""

    name = "DATE"

    def convert(self, value, param, ctx) -> _dt.date:
        try:
            return parse_date(nfc(value) if isinstance(value, str) else value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


class CrsType(click.ParamType):
    """A CRS option (``--crs``, ``--metric-crs``): anything pyproj reads, checked up front;
    ``metric=True`` also requires a projected CRS in metres (distances are never in degrees)."""

    name = "CRS"

    def __init__(self, metric: bool = False):
        self.metric = metric

    def convert(self, value, param, ctx) -> str:
        from bienmoc.geometry.crs import parse_crs

        try:  # the library's one CRS rule (EPSG codes; PROJ strings refused)
            crs = parse_crs(value)
        except InvalidData as e:
            self.fail(_reason(ctx, e.problems[0].reason), param, ctx)
        if self.metric:
            unit = crs.axis_info[0].unit_name if crs.axis_info else ""
            if not crs.is_projected or unit not in ("metre", "meter"):
                self.fail(_t(ctx, "not_metric", crs=value), param, ctx)
        return value


class OutputPath(click.Path):
    """An output file (``--output``): its folder must exist, checked before any work is done."""

    def __init__(self):
        super().__init__(dir_okay=False)

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        parent = Path(value).expanduser().parent
        if not parent.is_dir():
            self.fail(_t(ctx, "no_dir", dir=parent), param, ctx)
        return value


DATE = DateType()
OUTPUT = OutputPath()
CRS_ANY = CrsType()
CRS_METRIC = CrsType(metric=True)


def _store(ctx: click.Context, create: bool = False):
    """The command's store. Commands that only read need it to exist (a mistyped ``--store``
    is an error, not an empty answer); ``create=True`` (import, record) may create it."""
    obj = ctx.find_root().obj
    if "store" not in obj:
        uri = obj.get("store_uri") or os.environ.get(STORE_ENV) or None
        if uri and ("://" not in uri or uri.startswith("gpkg://")):
            path = Path(uri.removeprefix("gpkg://")).expanduser()
            if not path.exists() and not create:
                raise UserError("no_store", path=path, env=STORE_ENV)
            if path.exists() and not _is_sqlite(path):
                raise UserError("not_gpkg", path=path)
        store = open_store(uri)
        obj["store"] = store
        if not uri:
            click.echo(_t(ctx, "using_demo", path=default_store_path()), err=True)
    return obj["store"]


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _reason(ctx: click.Context, text: str) -> str:
    """A library message in the CLI's language."""
    return text if _lang(ctx) == "en" else to_vi(text)


#: ``--xy``: the order of x/y columns in CSV/XLSX (VN-2000 survey sheets: northing,easting)
XY = click.option("--xy", type=click.Choice(XY_ORDERS), default=XY_ORDERS[0],
                  show_default=True, help="Order of x/y columns in CSV/XLSX; VN-2000 survey "
                  "sheets write X = northing, Y = easting: northing,easting.")

#: ``--allow RULE``: an explicit, logged override of an entry rule (bienmoc.records.rules)
ALLOW = click.option("--allow", "allow", multiple=True, metavar="RULE",
                     help="Override a rule for a true exception (far, border, side, parts, "
                          "province, displacement, resurvey_far, future_date, date_order, "
                          "before_existence); stored on the record and logged.")


def _format_problem(ctx: click.Context, p) -> str:
    where = [p.file] if getattr(p, "file", "") else []  # a fix's file (bienmoc.io.tracks)
    if p.row is not None:
        where.append(_t(ctx, "row", row=p.row))
    if p.field:
        where.append(_t(ctx, "field", field=p.field))
    rule = f" [--allow {p.rule}]" if getattr(p, "rule", "") else ""  # how to override it
    return ("  - " + ", ".join(where) + ": " if where else "  - ") + _reason(ctx, p.reason) + rule


def describe(ctx, e: BaseException) -> str:
    """One line, in the CLI's language, for any error a command can meet: bienmoc's own,
    pyproj's, pandas' CSV parser's, pyogrio's and the operating system's."""
    if isinstance(e, UserError):
        return e.text(ctx)
    if isinstance(e, InvalidData):
        (p,) = e.problems
        return _format_problem(ctx, p).removeprefix("  - ")
    if isinstance(e, BienmocError):
        return _reason(ctx, str(e))
    name = type(e).__name__
    module = type(e).__module__ or ""
    msg = str(e).strip().splitlines()[0] if str(e).strip() else name
    if name == "CRSError":
        m = re.match(r"Invalid projection: (.+?): \(", msg)
        return _t(ctx, "bad_crs", crs=m.group(1) if m else msg)
    if module.startswith("pandas") and name in ("ParserError", "EmptyDataError"):
        m = re.search(r"EOF inside string starting at row (\d+)", msg)
        if m:
            return _t(ctx, "csv_quote", line=int(m.group(1)) + 1)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            return _t(ctx, "csv_fields", expected=m.group(1), line=m.group(2), saw=m.group(3))
        return _t(ctx, "csv_bad", msg=msg)
    if isinstance(e, UnicodeDecodeError):
        return _t(ctx, "encoding", enc=e.encoding)
    if isinstance(e, OSError) and e.filename is not None:
        reason = (_OS_REASONS_VI.get(e.errno, e.strerror) if _lang(ctx) == "vi"
                  else e.strerror) or msg
        return _t(ctx, "file_error", file=e.filename, reason=reason)
    if module.startswith("pyogrio"):
        return _t(ctx, "read_error", msg=msg)
    return _t(ctx, "internal", kind=name, msg=msg)


def _click_message(ctx, e: click.ClickException) -> str:
    """A click usage error as one line in the CLI's language, with the help command to run."""
    if (isinstance(e, click.BadParameter) and not isinstance(e, click.MissingParameter)
            and (e.param is not None or e.param_hint)):
        hint = (e.param.get_error_hint(e.ctx) if e.param is not None and e.ctx
                else e.param_hint or e.param.name)
        msg = _t(ctx, "bad_value", hint=hint, msg=_reason(ctx, e.message))
    else:
        msg = _reason(ctx, e.format_message())
    if isinstance(e, click.UsageError) and e.ctx is not None:
        msg += f" ({_t(ctx, 'help', cmd=e.ctx.command_path)})"
    return _t(ctx, "error", msg=msg)


class _Group(click.Group):
    """The root group: every error a command meets ends as one line on stderr (Vietnamese by
    default, ``--lang en``) and a non-zero exit code - never a traceback (set
    ``BIENMOC_DEBUG=1`` to see one). Invalid imported rows are listed one per line."""

    context_class = LangContext

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        # every text input in NFC: Unikey's "Unicode tổ hợp" sends NFD ("Sơn La" as o + U+031B
        # ...); an argument naming an existing file keeps its exact bytes.
        args = list(sys.argv[1:] if args is None else args)
        args = [a if not isinstance(a, str) or os.path.exists(a) else nfc(a) for a in args]
        # --help in the reader's language, also for commands registered after this module
        # (bienmoc.cli.lang); the language is known before click parses --lang
        install(self)
        extra.setdefault("obj", {"lang": argv_lang(args)})
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as e:
            click.echo(_click_message(self._error_ctx(e, args), e), err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo(_t(self._error_ctx(None, args), "aborted"), err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def _error_ctx(self, e, args: list[str]) -> click.Context:
        """A context that knows the language, also for errors met before ``--lang`` was read."""
        ctx = getattr(e, "ctx", None)
        if ctx is not None and (ctx.find_root().obj or {}).get("lang"):
            return ctx
        lang = None
        for i, a in enumerate(args):
            if a == "--lang" and i + 1 < len(args):
                lang = args[i + 1]
            elif a.startswith("--lang="):
                lang = a.partition("=")[2]
        return click.Context(self, obj={"lang": lang})

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except InvalidData as e:
            importing = ctx.invoked_subcommand == "import"
            if len(e.problems) == 1 and not (e.what and importing):
                what = _WHAT_VI.get(e.what, e.what) if _lang(ctx) == "vi" else e.what
                head = f"{what}: " if what else ""
                click.echo(_t(ctx, "error", msg=head + describe(ctx, e)), err=True)
                ctx.exit(1)
            key = "invalid" if importing else "invalid_record"
            what = e.what if importing or _lang(ctx) == "en" else _WHAT_VI.get(e.what, e.what)
            header = _t(ctx, key, file=what or "?", n=len(e.problems)) if e.what else \
                _t(ctx, "error", msg=_t(ctx, "n_problems", n=len(e.problems)))
            click.echo(header, err=True)
            for p in e.problems:
                click.echo(_format_problem(ctx, p), err=True)
            ctx.exit(1)
        except Exception as e:
            if os.environ.get("BIENMOC_DEBUG"):
                raise
            click.echo(_t(ctx, "error", msg=describe(ctx, e)), err=True)
            ctx.exit(1)


@click.group(cls=_Group)
@click.option("--store", "store_uri", metavar="PATH|URL", default=None,
              help=f"Store to use (default: ${STORE_ENV}, else the per-user demo store).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default=None,
              help="Language of reports and messages (default: $BIENMOC_LANG or vi).")
@click.option("--user", default=None, metavar="NAME", help="Name your writes carry in the "
              "store's logs (default: $BIENMOC_USER, else your login name).")
@click.version_option(package_name="bienmoc")
@click.pass_context
def main(ctx: click.Context, store_uri: str | None, lang: str | None,
         user: str | None = None) -> None:
    """bienmoc - manage the land border: boundary lines, markers, gates, works and incidents."""
    ctx.ensure_object(dict)
    ctx.obj["store_uri"] = store_uri
    ctx.obj["lang"] = lang or ("en" if os.environ.get("BIENMOC_LANG") == "en" else "vi")
    ctx.obj["user"] = user


def _user(ctx: click.Context) -> str:
    """Who a command's writes are attributed to (``--user``, $BIENMOC_USER, the login name)."""
    from bienmoc.records.attribution import cli_user  # lazily: keeps `--help` fast
    return cli_user((ctx.find_root().obj or {}).get("user"))


# -- shared helpers: options, tables, documents ----------------------------------------

def _kind_values(items, cast, option: str, form: str, enum=None) -> dict:
    """Options like ``--tolerance small=3`` as {'small': 3.0}; with ``enum``, each key is
    parsed as a code or a vi/en label of it (``--tolerance "mốc tiểu=3"``)."""
    out = {}
    for item in items:
        key, _, val = item.partition("=")
        try:
            out[enum.parse(key).value if enum else key.strip()] = cast(val)
        except ValueError as e:
            reason = str(e) if enum and str(e).startswith("unknown value") else \
                f"expected {form}, got {item!r}"
            raise click.BadParameter(reason, param_hint=option)
    return out


_METRIC = click.option("--metric-crs", "metric_crs", default=None, type=CRS_METRIC,
                       help="Metric CRS for distances (default UTM 48N/49N), e.g. EPSG:9206.")


def _write_doc(doc: dict, output: str | None) -> None:
    """Print or save a JSON document."""
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    Path(output).write_text(text, encoding="utf-8") if output else click.echo(text)


def _records(df: pd.DataFrame) -> list[dict]:
    """DataFrame rows as JSON-ready dicts (dates as YYYY-MM-DD)."""
    out = json.loads(df.to_json(orient="records", force_ascii=False, date_format="iso"))
    for rec in out:
        for k, v in rec.items():
            if isinstance(v, str) and len(v) == 23 and v[10:] == "T00:00:00.000":
                rec[k] = v[:10]
    return out


_FMT = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx"]),
                    default="table", show_default=True)
_OUT = click.option("--output", "-o", default=None, type=OUTPUT,
                    help="Output file (required for xlsx).")
_AS_OF = click.option("--as-of", "as_of", default=None, type=DATE,
                      help="Compute as of this date (default today).")


# -- tables in the CLI's language (bienmoc.cli.tables; re-exported for the command modules) --
from bienmoc.cli.tables import (_emit_table, _headers, _kind_labels, _one_language,  # noqa: E402,F401
                                _write_sheets)

# -- the commands, one module per group (rasterio's rio/ layout) ----------------------------
from bienmoc.cli import analysis, io, progress, record, serve, status, terrain  # noqa: E402

for _cmd in (status.status, io.import_, io.export, io.layers, analysis.locate, analysis.check,
             analysis.spacing, analysis.lengths, analysis.hotspots, progress.progress,
             progress.inspections, progress.history, record.record, serve.serve,
             terrain.terrain, io.forms):
    main.add_command(_cmd)

from bienmoc.cli import strip as _strip  # noqa: E402

main.add_command(_strip.strip)

from bienmoc.cli import report as _report  # noqa: E402

main.add_command(_report.report)
from bienmoc.cli import patrols as _patrols  # noqa: E402

main.add_command(_patrols.coverage)
from bienmoc.cli import store as _store_cmd  # noqa: E402

main.add_command(_store_cmd.store_group)
from bienmoc.cli import users as _users  # noqa: E402

main.add_command(_users.users)
