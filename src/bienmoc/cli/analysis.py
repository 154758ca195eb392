"""Boundary analytics: ``locate``, ``check``, ``spacing``, ``lengths``, ``hotspots``."""
from __future__ import annotations

import sys
from pathlib import Path

import click
import pandas as pd

from bienmoc.cli.main import _METRIC, _emit_table, _kind_values, _store
from bienmoc.io.files import export_layer


def _model(ctx, crs):
    from bienmoc.geometry.locate import BorderModel

    return BorderModel.from_store(_store(ctx), crs=crs)



@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv", "table"]),
              default="geojson", show_default=True)
@click.option("--output", "-o", default=None, type=click.Path(dir_okay=False))
@click.option("--crs", default=None, metavar="CRS", help="CRS of FILE if it declares none.")
@_METRIC
@click.pass_context
def locate(ctx, file, fmt, output, crs, metric_crs):
    """Locate the features of FILE: border, distance, side, chainage, markers, province."""
    from bienmoc.io.files import read_source
    from bienmoc.geometry.locate import locate as _locate

    data, _ = read_source(file, crs=crs)
    out = _locate(data, _model(ctx, metric_crs))
    if fmt == "geojson":
        export_layer(out.to_crs(4326), "geojson", output or sys.stdout.buffer)
    elif fmt == "csv":
        export_layer(out.to_crs(4326), "csv", output or sys.stdout.buffer)
    else:
        cols = [c for c in out.columns if c != out.geometry.name]
        table = pd.DataFrame(out[cols]).round({"distance_m": 1, "chainage_m": 1,
                                               "nearest_marker_distance_m": 1})
        _emit_table(table, "table", output)


@click.command()
@click.option("--border", default=None, metavar="CODE")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.option("--tolerance", "tolerance", multiple=True, metavar="KIND=M",
              help="Distance tolerance from the line per kind, e.g. --tolerance small=3.")
@click.option("--max-part-spacing", default=200.0, show_default=True,
              help="Max distance (m) between the parts of a double/triple marker.")
@_METRIC
@click.pass_context
def check(ctx, border, fmt, tolerance, max_part_spacing, metric_crs):
    """Marker QA; exits 1 when any error is found."""
    from bienmoc.analysis.qa import check_markers

    tol = _kind_values(tolerance, float, "--tolerance", "KIND=METRES")
    store = _store(ctx)
    frames = {k: store.read(k) for k in ("boundary", "markers", "provinces")}
    df = check_markers(frames, border=border.upper() if border else None, tolerance_m=tol,
                       max_part_spacing_m=max_part_spacing, crs=metric_crs)
    lang = ctx.obj["lang"]
    if fmt == "table":
        msg = "message_en" if lang == "en" else "message_vi"
        _emit_table(df[["severity", "check", "border", "markers", "value", msg]], fmt, None)
    else:
        _emit_table(df, fmt, None)
    ctx.exit(1 if (df["severity"] == "error").any() else 0)


@click.command()
@click.option("--border", default=None, metavar="CODE")
@click.option("--max-spacing", default=None, type=float, metavar="M",
              help="List sections longer than M metres with proposed stakes.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "geojson"]),
              default="table", show_default=True)
@click.option("--output", "-o", default=None, type=click.Path(dir_okay=False))
@_METRIC
@click.pass_context
def spacing(ctx, border, max_spacing, fmt, output, metric_crs):
    """Distance along the line between consecutive markers; with --max-spacing, proposed
    reference stakes for the long sections (GeoJSON of the proposals with --format geojson)."""
    from bienmoc.analysis.spacing import densify, marker_spacing

    model = _model(ctx, metric_crs)
    b = border.upper() if border else None
    if max_spacing is None:
        _emit_table(marker_spacing(model, border=b).round(1), "table" if fmt == "geojson"
                    else fmt, output)
        return
    sections, stakes = densify(model, max_spacing_m=max_spacing, border=b)
    if fmt == "geojson":
        export_layer(stakes, "geojson", output or sys.stdout.buffer)
        return
    table = pd.DataFrame(stakes.drop(columns="geometry")).round(1)
    table["lon"], table["lat"] = stakes.geometry.x.round(7), stakes.geometry.y.round(7)
    _emit_table(table, fmt, output)


@click.command()
@click.option("--by", type=click.Choice(["border", "province"]), default="province",
              show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@_METRIC
@click.pass_context
def lengths(ctx, by, fmt, metric_crs):
    """Border length (km) per neighbour or per province, with official figures when known."""
    from bienmoc.analysis.lengths import border_lengths, province_lengths

    store = _store(ctx)
    frames = {k: store.read(k) for k in ("boundary", "markers", "provinces")}
    df = (border_lengths(frames, crs=metric_crs) if by == "border"
          else province_lengths(frames, crs=metric_crs))
    _emit_table(df.round(2), fmt, None)


@click.command()
@click.option("--bin", "bin_m", default=1000.0, show_default=True, help="Bin length (m).")
@click.option("--from", "start", default=None, metavar="DATE")
@click.option("--to", "end", default=None, metavar="DATE")
@click.option("--kind", "kinds", multiple=True, help="Only these incident kinds.")
@click.option("--top", default=10, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@_METRIC
@click.pass_context
def hotspots(ctx, bin_m, start, end, kinds, top, fmt, metric_crs):
    """Incident counts per chainage bin along the line, busiest first."""
    from bienmoc.analysis.lengths import hotspots as _hotspots

    store = _store(ctx)
    df = _hotspots(_model(ctx, metric_crs), store.read("incidents"), bin_m=bin_m, start=start,
                   end=end, kinds=kinds or None, top=top)
    _emit_table(df, fmt, None)
