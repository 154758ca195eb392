"""Boundary analytics: ``locate``, ``check``, ``spacing``, ``lengths``, ``hotspots``."""
from __future__ import annotations

import sys
from pathlib import Path

import click
import pandas as pd

from bienmoc.cli.main import (CRS_ANY, DATE, MSG, OUTPUT, XY, _METRIC, UserError, _emit_table,
                              _kind_values, _store, _t, border_option, enum_option)
from bienmoc.model.schema import IncidentKind, MarkerKind
from bienmoc.io.files import export_layer

_POSITIVE = click.FloatRange(min=0, min_open=True)

MSG.update({
    "check_clean": ("Không phát hiện vấn đề nào.", "No problems found."),
})


def _source_layer(table) -> str | None:
    """The layer whose fields a located file's columns look like (markers: 'number')."""
    return "markers" if "number" in table.columns else None


def _model(ctx, crs):
    from bienmoc.geometry.locate import BorderModel

    return BorderModel.from_source(_store(ctx), crs=crs)


def _lonlat(data, file: Path):
    """The features of ``file`` in EPSG:4326. A file that declares no CRS (CSV x/y without
    --crs, a Shapefile without .prj) is taken as lon/lat only if its coordinates can be."""
    if data.crs is not None:
        return data
    import shapely

    xy = shapely.get_coordinates(data.geometry.values)
    bad = (abs(xy[:, 0]) > 180) | (abs(xy[:, 1]) > 90)
    if bad.any():
        x, y = xy[bad][0]
        raise UserError("no_crs", file=file.name, x=x, y=y)
    return data.set_crs(4326)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv", "table"]),
              default="geojson", show_default=True)
@click.option("--output", "-o", default=None, type=OUTPUT)
@click.option("--crs", default=None, type=CRS_ANY, help="CRS of FILE if it declares none.")
@XY
@_METRIC
@click.pass_context
def locate(ctx, file, fmt, output, crs, xy, metric_crs):
    """Locate the features of FILE: border, distance, side, chainage, markers, province."""
    from bienmoc.io.locate_file import locate_file, start_warming

    start_warming(file)  # numba's load beside the store read and model build below
    # one function for the CLI, the benchmark and scripts: Arrow reading, threads, Arrow writing
    out = locate_file(file, _model(ctx, metric_crs), fmt=fmt, crs=crs, xy=xy,
                      output=output or sys.stdout.buffer, check=lambda d: _lonlat(d, file))
    if fmt == "table":
        cols = [c for c in out.columns if c != out.geometry.name]
        table = pd.DataFrame(out[cols]).round({"distance_m": 1, "chainage_m": 1,
                                               "nearest_marker_distance_m": 1})
        _emit_table(table, "table", output, layer=_source_layer(table))


@click.command()
@click.option("--border", default=None, metavar="CODE")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx"]),
              default="table", show_default=True)
@click.option("--output", "-o", default=None, type=OUTPUT)
@click.option("--tolerance", "tolerance", multiple=True, metavar="KIND=M",
              help="Distance tolerance from the line per kind, e.g. --tolerance small=3.")
@click.option("--max-part-spacing", default=200.0, show_default=True, type=_POSITIVE,
              help="Max distance (m) between the parts of a double/triple marker.")
@click.option("--dem", "dem_path", default=None, metavar="PATH",
              help="Also compare recorded elevations with this DEM (or $BIENMOC_DEM).")
@click.option("--elevation-tolerance", default=30.0, show_default=True, type=_POSITIVE,
              metavar="M", help="Flag recorded elevations farther than M metres from the DEM.")
@_METRIC
@click.pass_context
def check(ctx, border, fmt, output, tolerance, max_part_spacing, dem_path, elevation_tolerance,
          metric_crs):
    """Marker QA; exits 1 when any error is found. With a DEM (--dem or $BIENMOC_DEM) also
    warns of recorded elevations differing from the DEM by more than --elevation-tolerance."""
    import os

    from bienmoc.analysis.qa import check_markers
    from bienmoc.terrain.dem import DEM_ENV

    tol = _kind_values(tolerance, float, "--tolerance", "KIND=METRES", enum=MarkerKind)
    store = _store(ctx)
    frames = {k: store.read(k) for k in ("boundary", "markers", "provinces")}
    df = check_markers(frames, border=border_option(ctx, border), tolerance_m=tol,
                       max_part_spacing_m=max_part_spacing, crs=metric_crs)
    if dem_path or os.environ.get(DEM_ENV):
        from bienmoc.cli.terrain import _open
        from bienmoc.terrain.markers import check_elevations

        with _open(dem_path) as dem:
            extra = check_elevations(frames, dem, border=border_option(ctx, border),
                                     tolerance_m=elevation_tolerance)
        df = pd.concat([df, extra], ignore_index=True) if len(extra) else df
    if fmt in ("table", "xlsx"):
        _emit_table(df[["severity", "check", "border", "markers", "value", "message_vi",
                        "message_en"]], fmt, output, empty=_t(ctx, "check_clean"),
                    sheet=("Kiểm tra mốc", "Marker QA"))
    else:
        _emit_table(df, fmt, output)
    ctx.exit(1 if (df["severity"] == "error").any() else 0)


@click.command()
@click.option("--border", default=None, metavar="CODE")
@click.option("--max-spacing", default=None, type=_POSITIVE, metavar="M",
              help="List sections longer than M metres with proposed stakes.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx", "geojson"]),
              default="table", show_default=True)
@click.option("--output", "-o", default=None, type=OUTPUT)
@_METRIC
@click.pass_context
def spacing(ctx, border, max_spacing, fmt, output, metric_crs):
    """Distance along the line between consecutive markers; with --max-spacing, proposed
    reference stakes for the long sections (GeoJSON of the proposals with --format geojson)."""
    from bienmoc.analysis.spacing import densify, marker_spacing

    b = border_option(ctx, border)
    model = _model(ctx, metric_crs)
    if max_spacing is None:
        _emit_table(marker_spacing(model, border=b).round(1), "table" if fmt == "geojson"
                    else fmt, output, sheet=("Khoảng cách mốc", "Marker spacing"))
        return
    sections, stakes = densify(model, max_spacing_m=max_spacing, border=b)
    if fmt == "geojson":
        export_layer(stakes, "geojson", output or sys.stdout.buffer)
        return
    table = pd.DataFrame(stakes.drop(columns="geometry")).round(1)
    table["lon"], table["lat"] = stakes.geometry.x.round(7), stakes.geometry.y.round(7)
    _emit_table(table, fmt, output, sheet=("Cọc dấu đề xuất", "Proposed stakes"))


@click.command()
@click.option("--by", type=click.Choice(["border", "province"]), default="province",
              show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx"]),
              default="table", show_default=True)
@click.option("--output", "-o", default=None, type=OUTPUT)
@_METRIC
@click.pass_context
def lengths(ctx, by, fmt, output, metric_crs):
    """Border length (km) per neighbour or per province, with official figures when known."""
    from bienmoc.analysis.lengths import border_lengths, province_lengths

    store = _store(ctx)
    frames = {k: store.read(k) for k in ("boundary", "markers", "provinces")}
    df = (border_lengths(frames, crs=metric_crs) if by == "border"
          else province_lengths(frames, crs=metric_crs))
    _emit_table(df.round(2), fmt, output, sheet=("Chiều dài biên giới", "Border lengths"))


@click.command()
@click.option("--bin", "bin_m", default=1000.0, show_default=True, type=_POSITIVE,
              help="Bin length (m).")
@click.option("--from", "start", default=None, type=DATE, help="From this date (inclusive).")
@click.option("--to", "end", default=None, type=DATE, help="To this date (inclusive).")
@click.option("--kind", "kinds", multiple=True,
              help="Only these incident kinds (code, or the Vietnamese/English label).")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx"]),
              default="table", show_default=True)
@click.option("--output", "-o", default=None, type=OUTPUT)
@_METRIC
@click.pass_context
def hotspots(ctx, bin_m, start, end, kinds, top, fmt, output, metric_crs):
    """Incident counts per chainage bin along the line, busiest first."""
    from bienmoc.analysis.lengths import hotspots as _hotspots

    if start and end and start > end:
        raise UserError("from_after_to", start=start, end=end)
    codes = [enum_option(ctx, IncidentKind, k) for k in kinds]
    store = _store(ctx)
    df = _hotspots(_model(ctx, metric_crs), store.read("incidents"), bin_m=bin_m, start=start,
                   end=end, kinds=codes or None, top=top)
    _emit_table(df, fmt, output, sheet=("Điểm nóng vụ việc", "Incident hotspots"))
