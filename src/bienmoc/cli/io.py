"""``bienmoc import`` / ``export`` / ``layers``: files in and out of the store."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from bienmoc.cli.main import ALLOW, CRS_ANY, OUTPUT, XY, _store, _t
from bienmoc.cli.patrols import check_no_patrol_options, import_patrols_cmd, patrol_options
from bienmoc.io.files import EXPORT_FORMATS, export_layer, format_from_path, import_layer
from bienmoc.model.schema import IMPORTABLE, SCHEMAS


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
@XY
@ALLOW
@patrol_options
@click.pass_context
def import_(ctx, kind, file, crs, encoding, mode, layer, xy, allow, **patrol):
    """Import FILE (GeoJSON, GeoPackage, Shapefile, CSV, XLSX) into layer KIND, all or
    nothing. ``import patrols FILE --team NAME [--kind unilateral|joint]``: GPS tracks (GPX,
    GeoJSON, CSV of fixes, a folder or a zip of them)."""
    if kind == "patrols":
        return import_patrols_cmd(ctx, file, allow=allow, **patrol)
    check_no_patrol_options(ctx, **patrol)
    if file.is_dir():
        raise click.BadParameter(f"File '{file}' is a directory.", param_hint="'FILE'")
    store = _store(ctx, create=True)
    data = import_layer(store, kind, file, crs=crs, encoding=encoding, mode=mode, layer=layer,
                        xy=xy, allow=allow)
    click.echo(_t(ctx, "imported", n=len(data), kind=kind, store=store.uri), err=True)


@click.command()
@click.argument("kind", type=click.Choice(IMPORTABLE + ("patrols",)))
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default=None,
              help="Output format (default: from --output's extension, else geojson).")
@click.option("--output", "-o", default=None, type=OUTPUT,
              help="Output file (default: standard output).")
@click.option("--labels", type=click.Choice(["codes", "vi", "en"]), default="codes",
              show_default=True, help="CSV/XLSX headers and values: field codes or labels.")
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
    export_layer(data, fmt, target, kind=kind, lang=None if labels == "codes" else labels,
                 crs=crs)
    if output:
        click.echo(_t(ctx, "exported", n=len(data), out=output), err=True)


@click.command()
@click.pass_context
def layers(ctx):
    """List the store's layers and their record counts."""
    store = _store(ctx)
    click.echo(_t(ctx, "using", path=store.uri))
    for name in store.layers():
        n = len(store.read(name))
        title = SCHEMAS[name].vi if name in SCHEMAS and ctx.obj["lang"] == "vi" else name
        click.echo(f"  {name:<12} {n:>7}  {title}")
