"""``bienmoc import`` / ``export`` / ``layers``: files in and out of the store."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from bienmoc.cli.lang import HELP
from bienmoc.cli.main import ALLOW, CRS_ANY, OUTPUT, XY, _lang, _store, _t, _user
from bienmoc.cli.patrols import check_no_patrol_options, import_patrols_cmd, patrol_options
from bienmoc.fmt import fmt_number
from bienmoc.io.fieldforms import (DEFAULT_MAX_ACCURACY_M, FORM_KINDS, build_xlsform,
                                   detect_field_export, import_field_export)
from bienmoc.io.files import EXPORT_FORMATS, export_layer, format_from_path, import_layer
from bienmoc.model.schema import IMPORTABLE, SCHEMAS

HELP.update({
    "import --max-accuracy": ("Tệp xuất từ công cụ thực địa (ODK, Kobo, QField): từ chối vị "
                              "trí GPS có độ chính xác kém hơn mức này (m).", None),
    "forms": ("Biểu mẫu thực địa (XLSForm) cho ODK Collect, KoboToolbox và Enketo.", None),
    "forms build": ("Ghi biểu mẫu XLSForm cho KIND (kiểm tra bằng pyxform): danh sách lựa chọn "
                    "bằng tiếng Việt và tiếng Anh; với kiểm tra mốc, các mốc trong kho thành "
                    "danh sách tìm kiếm được.", None),
    "forms build --kind": ("Nội dung biểu mẫu ghi nhận: incidents (vụ việc) hoặc inspections "
                           "(kiểm tra mốc).", None),
    "forms build --output": ("Tệp XLSForm cần ghi (mặc định: bienmoc_KIND.xlsx).", None),
    "forms build --max-accuracy": ("Độ chính xác GPS (m) biểu mẫu yêu cầu trước khi giữ một "
                                   "vị trí.", None),
})


@click.command("import")
@click.argument("kind", type=click.Choice(IMPORTABLE + ("patrols",)))
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--crs", default=None, type=CRS_ANY,
              help="Source CRS when the file declares none (CSV x/y), e.g. EPSG:3405.")
@click.option("--encoding", default=None, help="Text encoding of a CSV (default UTF-8).")
@click.option("--mode", type=click.Choice(["append", "replace"]), default="append",
              show_default=True, help="Add to the layer or replace it.")
@click.option("--layer", default=None, help="Layer (or XLSX sheet) to read from a multi-layer "
              "file.")
@click.option("--max-accuracy", "max_accuracy", type=click.FloatRange(min=0),
              default=DEFAULT_MAX_ACCURACY_M, show_default=True,
              help="Field exports (ODK, Kobo, QField): refuse GPS fixes less accurate than "
              "this (metres).")
@XY
@ALLOW
@patrol_options
@click.pass_context
def import_(ctx, kind, file, crs, encoding, mode, layer, xy, allow, max_accuracy, **patrol):
    """Import FILE (GeoJSON, GeoPackage, Shapefile, CSV, XLSX) into layer KIND, all or
    nothing. Incidents and inspections may also come as a field tool's export: an ODK
    Central CSV zip, a KoboToolbox CSV/GeoJSON or a QField GeoPackage (detected from the
    file; submissions imported before are skipped). ``import patrols FILE --team NAME
    [--kind unilateral|joint]``: GPS tracks (GPX, GeoJSON, CSV of fixes, a folder or a zip of
    them)."""
    if kind == "patrols":
        return import_patrols_cmd(ctx, file, allow=allow, **patrol)
    check_no_patrol_options(ctx, **patrol)
    if file.is_dir():
        raise click.BadParameter(f"File '{file}' is a directory.", param_hint="'FILE'")
    store = _store(ctx, create=True)
    tool = detect_field_export(file) if kind in FORM_KINDS and mode == "append" else None
    if tool is not None:
        data = import_field_export(store, kind, file, max_accuracy_m=max_accuracy, layer=layer,
                                   allow=allow, user=_user(ctx))
        click.echo(_t(ctx, "imported_field", n=len(data), kind=kind, store=store.uri,
                      tool=_TOOLS[tool], skipped=data.attrs.get("skipped", 0),
                      rejected=data.attrs.get("excluded", {}).get("rejected", 0)), err=True)
        return
    data = import_layer(store, kind, file, crs=crs, encoding=encoding, mode=mode, layer=layer,
                        xy=xy, allow=allow, user=_user(ctx))
    click.echo(_t(ctx, "imported", n=len(data), kind=kind, store=store.uri), err=True)


_TOOLS = {"odk": "ODK Central", "kobo": "KoboToolbox", "qfield": "QField"}


@click.group()
def forms():
    """Field forms (XLSForm) for ODK Collect, KoboToolbox and Enketo."""


@forms.command("build")
@click.option("--kind", type=click.Choice(FORM_KINDS), required=True,
              help="What the form records.")
@click.option("--output", "-o", type=OUTPUT, default=None,
              help="XLSForm file to write (default: bienmoc_KIND.xlsx).")
@click.option("--max-accuracy", "max_accuracy", type=click.FloatRange(min=0),
              default=DEFAULT_MAX_ACCURACY_M, show_default=True,
              help="The GPS accuracy (metres) the form requires before a position is kept.")
@click.pass_context
def forms_build(ctx, kind, output, max_accuracy):
    """Write the XLSForm for KIND (checked with pyxform): choice lists in Vietnamese and
    English; for inspections, the store's markers as a searchable list."""
    store = _store(ctx) if kind == "inspections" else None
    path = build_xlsform(kind, output or f"bienmoc_{kind}.xlsx", store=store,
                         max_accuracy_m=max_accuracy)
    title = SCHEMAS[kind].en if _lang(ctx) == "en" else SCHEMAS[kind].vi
    click.echo(_t(ctx, "form_built", path=path, kind=title), err=True)


@click.command()
@click.argument("kind", type=click.Choice(IMPORTABLE + ("patrols",)))
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default=None,
              help="Output format (default: from --output's extension, else geojson).")
@click.option("--output", "-o", default=None, type=OUTPUT,
              help="Output file (default: standard output).")
@click.option("--labels", type=click.Choice(["codes", "vi", "en"]), default=None,
              help="CSV/XLSX headers and values: field codes or labels (default: labels in "
                   "the CLI's language for XLSX, codes for CSV).")
@click.option("--crs", default=None, type=CRS_ANY,
              help="Write coordinates in this CRS (default EPSG:4326), e.g. EPSG:9206 for "
              "markers in VN-2000 / TM-3 104°.")
@click.pass_context
def export(ctx, kind, fmt, output, labels, crs):
    """Export layer KIND as GeoJSON, GeoPackage, Shapefile (zip), CSV or XLSX."""
    if fmt is None:
        fmt = format_from_path(output) if output else "geojson"
    data = _store(ctx).read(kind)
    target = output if output else sys.stdout.buffer
    if labels is None:  # XLSX is for reading: headers and values in the reader's language
        labels = _lang(ctx) if fmt == "xlsx" else "codes"
    export_layer(data, fmt, target, kind=kind, lang=None if labels == "codes" else labels,
                 crs=crs)
    if output:
        click.echo(_t(ctx, "exported", n=len(data), out=output), err=True)


#: The store's own tables beside the border layers (logs and accounts).
_LOG_TITLES = {"incident_changes": ("Nhật ký thay đổi vụ việc", "Incident change log"),
               "marker_changes": ("Nhật ký thay đổi mốc", "Marker change log"),
               "write_log": ("Nhật ký ghi (ai ghi gì, khi nào)",
                             "Write log (who wrote what, when)"),
               "users": ("Người dùng", "Users")}


@click.command()
@click.pass_context
def layers(ctx):
    """List the store's layers and their record counts."""
    store = _store(ctx)
    click.echo(_t(ctx, "using", path=store.uri))
    for name in store.layers():
        n = len(store.read(name))
        vi, en = (SCHEMAS[name].vi, SCHEMAS[name].en) if name in SCHEMAS else \
            _LOG_TITLES.get(name, ("", ""))
        title = vi if _lang(ctx) == "vi" else en
        click.echo(f"  {name:<13} {fmt_number(n, _lang(ctx)):>7}  {title}")
