"""``bienmoc terrain``: elevations of points and profiles along a border from the user's DEM."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import pandas as pd

from bienmoc.cli.main import (CRS_ANY, MSG, OUTPUT, XY, _METRIC, UserError, _emit_table, _lang,
                              _reason, _store, _t, _write_doc, border_option)
from bienmoc.fmt import fmt_number
from bienmoc.cli.lang import HELP
from bienmoc.terrain.dem import DEM_ENV, METHODS, DemError, open_dem

HELP.update({
    "terrain fill-elevations": ("Điền độ cao elevation_m còn thiếu của các mốc từ DEM (không "
                                "bao giờ ghi đè giá trị đã có). Mỗi thay đổi được ghi vào lớp "
                                "marker_changes kèm đường dẫn DEM; tất cả trong một giao dịch, "
                                "không ghi gì khi có lỗi.", None),
    "terrain fill-elevations --border": ("Chỉ các mốc của tuyến biên giới này.", None),
    "terrain fill-elevations --dry-run": ("Chỉ hiện các mốc sẽ được điền; không ghi gì.",
                                          None),
    "terrain risk": ("Mức phơi nhiễm sạt lở của các mốc và các đoạn biên giới (độ dốc, chênh "
                     "cao, độ cong, khoảng cách tới đường tụ thủy).\n\nMỗi mốc được xếp mức "
                     "thấp/trung bình/cao; mỗi đoạn có tỷ lệ chiều dài ở mức cao. Khi kho có "
                     "các vụ sạt lở, trọng số tỷ số tần suất được ước lượng từ chúng và báo "
                     "cáo AUC (xem bienmoc.terrain.risk).", None),
    "terrain risk --border": ("Tuyến biên giới: CN, LA, KH.", None),
    "terrain risk --by": ("Một dòng cho mỗi mốc (marker) hoặc cho mỗi đoạn giữa hai mốc "
                          "(section).", None),
    "terrain risk --method": ("fr: tỷ số tần suất ước lượng từ các vụ sạt lở; wlc: trọng số "
                              "AHP; auto: fr khi kho có ít nhất 5 vụ sạt lở trên DEM.", None),
    "terrain risk --step": ("Số mét giữa hai điểm lấy mẫu trên đường biên giới cho các đoạn "
                            "(mặc định: một ô DEM).", None),
})

MSG.update({
    "no_dem": ("chưa có DEM: dùng --dem ĐƯỜNG_DẪN hoặc đặt biến môi trường ${env}",
               "no DEM given: use --dem PATH or set ${env}"),
    "bad_dem": ("không dùng được DEM {path}: {reason}", "cannot use the DEM {path}: {reason}"),
    "dem_missing": ("không có tệp DEM {path}", "no DEM file at {path}"),
    "dem_format": ("{path} không phải raster mà GDAL đọc được (GeoTIFF, VRT, ...)",
                   "{path} is not a raster GDAL can read (GeoTIFF, VRT, ...)"),
    "not_point": ("dòng {row}: cần điểm (Point) để lấy độ cao, không phải {kind}",
                  "row {row}: elevations need a Point, not {kind}"),
    "step": ("--step phải lớn hơn 0 m", "--step must be more than 0 m"),
    "filled": ("đã điền độ cao cho {n} mốc từ DEM (ghi nhật ký marker_changes); {s} mốc không "
               "có dữ liệu DEM", "filled the elevation of {n} marker(s) from the DEM (logged in "
               "marker_changes); {s} marker(s) have no DEM data"),
    "would_fill": ("sẽ điền độ cao cho {n} mốc (chạy thử, chưa ghi); {s} mốc không có dữ liệu "
                   "DEM", "would fill the elevation of {n} marker(s) (dry run, nothing "
                   "written); {s} marker(s) have no DEM data"),
    "km_range": ("khoảng --from-km {a} --to-km {b} không nằm trên tuyến {border} (dài {km:.3f} km)",
                 "--from-km {a} --to-km {b} is not on the {border} line ({km:.3f} km long)"),
})

_DEM = click.option("--dem", "dem_path", default=None, metavar="PATH",
                    help=f"DEM: any GDAL raster or VRT, any CRS (default ${DEM_ENV}).")
_METHOD = click.option("--method", type=click.Choice(METHODS), default="bilinear",
                       show_default=True, help="Sampling between cell centres.")

def _open(path):
    """The DEM of ``--dem`` or ``$BIENMOC_DEM``, with its errors in the CLI's language."""
    try:
        return open_dem(path)
    except DemError as e:
        if path is None and "no DEM given" in str(e):
            raise UserError("no_dem", env=DEM_ENV) from None
        text = str(e)
        if text.startswith("no DEM at"):
            raise UserError("dem_missing", path=path) from None
        if "not recognized as being in a supported file format" in text:
            raise UserError("dem_format", path=path) from None
        raise UserError("bad_dem", path=path, reason=text) from None


@click.group()
def terrain():
    """Terrain along the border from the user's DEM: elevations, profiles, slopes,
    intervisibility."""


@terrain.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_DEM
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson", "table"]),
              default="csv", show_default=True)
@click.option("--output", "-o", default=None, type=OUTPUT)
@click.option("--crs", default=None, type=CRS_ANY, help="CRS of FILE if it declares none.")
@click.option("--slope", is_flag=True, help="Also slope_deg and aspect_deg (Horn, as gdaldem).")
@_METHOD
@XY
@click.pass_context
def elevation(ctx, file, dem_path, fmt, output, crs, slope, method, xy):
    """Add elevation_m (from the DEM) to the points of FILE, keeping their properties."""
    from bienmoc.cli.analysis import _lonlat
    from bienmoc.io.files import export_layer, read_source
    from bienmoc.terrain.dem import elevations
    from bienmoc.terrain.slope import terrain_at

    data, rows = read_source(file, crs=crs, xy=xy)
    kinds = data.geometry.geom_type
    bad = (kinds != "Point").to_numpy()
    if bad.any():
        raise UserError("not_point", row=rows[bad][0], kind=kinds[bad].iloc[0] or "∅")
    data = _lonlat(data, file)
    with _open(dem_path) as dem:
        out = (terrain_at if slope else elevations)(data, dem, method=method)
    if fmt == "table":
        table = pd.DataFrame(out.drop(columns=out.geometry.name))
        ll = out.geometry.to_crs(4326)
        table.insert(0, "lat", ll.y.round(6))
        table.insert(0, "lon", ll.x.round(6))
        _emit_table(table.round({"elevation_m": 2, "slope_deg": 2, "aspect_deg": 1}), "table",
                    output)
    else:
        export_layer(out.to_crs(4326), fmt, output or sys.stdout.buffer)


@terrain.command("fill-elevations")
@_DEM
@click.option("--border", default=None, metavar="CODE", help="Only this border's markers.")
@click.option("--dry-run", is_flag=True, help="Show what would be filled; write nothing.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "table"]), default="table",
              show_default=True)
@_METHOD
@click.pass_context
def fill_elevations(ctx, dem_path, border, dry_run, fmt, method):
    """Fill the missing elevation_m of markers from the DEM (a recorded value is never
    overwritten). Each change is logged in the marker_changes layer with the DEM's path;
    all in one transaction, nothing written on any problem."""
    from bienmoc.errors import InvalidData
    from bienmoc.terrain.markers import fill_elevations as _fill

    if border is not None:
        border = border_option(ctx, border)
    lang = _lang(ctx)
    with _open(dem_path) as dem:
        try:
            from bienmoc.cli.main import _user

            filled, skipped = _fill(_store(ctx), dem, border=border, method=method,
                                    dry_run=dry_run, user=_user(ctx))
        except InvalidData as e:
            raise UserError("_raw", text=_reason(ctx, str(e))) from None
    _emit_table(filled, fmt, None, layer="markers")
    click.echo(_t(ctx, "would_fill" if dry_run else "filled", n=fmt_number(len(filled), lang),
                  s=fmt_number(len(skipped), lang)), err=True)


@terrain.command()
@click.option("--border", required=True, metavar="CODE", help="Border line: CN, LA, KH.")
@click.option("--from-km", "from_km", type=click.FloatRange(min=0), default=None)
@click.option("--to-km", "to_km", type=click.FloatRange(min=0), default=None)
@_DEM
@click.option("--step", type=float, default=100.0, show_default=True,
              help="Metres of chainage between samples.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "table", "png"]),
              default="csv", show_default=True,
              help="png: a profile chart with the marker numbers (needs --output).")
@click.option("--output", "-o", default=None, type=OUTPUT)
@click.option("--slope", is_flag=True, help="Also slope_deg and aspect_deg of each sample.")
@_METHOD
@_METRIC
@click.pass_context
def profile(ctx, border, from_km, to_km, dem_path, step, fmt, output, slope, method,
            metric_crs):
    """Elevation every STEP m of chainage along a border, with the markers' chainages.

    Rows chainage_m, lon, lat, elevation_m, part, marker: one per sample (marker empty) and
    one per marker at its chainage. Gaps between the parts of a line have no chainage and are
    not sampled (part counts them)."""
    from bienmoc.errors import InvalidData
    from bienmoc.geometry.locate import BorderModel
    from bienmoc.terrain.profile import marker_elevations, profile as _profile

    if not step > 0:
        raise UserError("step")
    border = border_option(ctx, border)
    model = BorderModel.from_source(_store(ctx), crs=metric_crs)
    length = model.index.length_m.get(border, 0.0)
    a, b = from_km or 0.0, length / 1000 if to_km is None else to_km
    if a * 1000 > length or b <= a:
        raise UserError("km_range", a=a, b=round(b, 3), border=border, km=length / 1000)
    with _open(dem_path) as dem:
        try:
            rows = _profile(model, border, dem, step=step, from_km=from_km, to_km=to_km,
                            method=method, slope=slope)
            marks = marker_elevations(model, border, dem, from_km=from_km, to_km=to_km,
                                      method=method)
        except InvalidData as e:
            raise UserError("_raw", text=_reason(ctx, str(e))) from None
    if fmt == "png":
        from bienmoc.terrain.plot import profile_png  # matplotlib: a core dependency

        data = profile_png(rows, marks, border=border, lang=ctx.obj["lang"])
        if output:
            Path(output).write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
        return
    if fmt == "json":
        doc = {"border": border, "step_m": step, "dem": dem.path, "crs": model.crs.to_string(),
               "profile": json.loads(rows.to_json(orient="records")),
               "markers": json.loads(marks.to_json(orient="records"))}
        _write_doc(doc, output)
        return
    rows["marker"] = ""
    marks = marks.rename(columns={"number": "marker"})
    marks["part"] = rows["part"].iloc[0] if len(rows) else 0
    if len(marks):  # the marker's part: that of the sample before it
        pos = rows["chainage_m"].searchsorted(marks["chainage_m"], side="right") - 1
        marks["part"] = rows["part"].to_numpy()[pos.clip(0)]
    table = pd.concat([rows, marks[[c for c in rows.columns if c in marks.columns]]],
                      ignore_index=True)
    table = table.sort_values("chainage_m", kind="stable").reset_index(drop=True)
    table = table.round({"chainage_m": 2, "lon": 7, "lat": 7, "elevation_m": 2,
                         "slope_deg": 3, "aspect_deg": 2})
    _emit_table(table, fmt, output)


@terrain.command()
@click.option("--border", required=True, metavar="CODE", help="Border line: CN, LA, KH.")
@_DEM
@click.option("--observer-height", type=click.FloatRange(min=0), default=1.5,
              show_default=True, help="Eye height (m) above the ground at the first marker.")
@click.option("--target-height", type=click.FloatRange(min=0), default=1.5,
              show_default=True, help="Target height (m) above the ground at the next marker.")
@click.option("--max-range", "max_range", type=click.FloatRange(min=0, min_open=True),
              default=5000.0, show_default=True, help="Pairs farther apart (m) are flagged.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "table"]), default="table",
              show_default=True)
@click.option("--output", "-o", default=None, type=OUTPUT)
@_METRIC
@click.pass_context
def visibility(ctx, border, dem_path, observer_height, target_height, max_range, fmt, output,
               metric_crs):
    """Intervisibility of consecutive markers (numbering order) over the DEM.

    Rows marker_from, marker_to, distance_m, visible, clearance_m (least height of the sight
    line above the ground, negative when blocked), the worst point (chainage, lon, lat),
    too_far, and stakes proposed on the line where a pair is blocked. Earth curvature and
    refraction (k = 0.13): drop = d1 d2 (1 - k) / (2 R)."""
    from bienmoc.errors import InvalidData
    from bienmoc.geometry.locate import BorderModel
    from bienmoc.terrain.visibility import intervisibility, propose_stakes

    border = border_option(ctx, border)
    model = BorderModel.from_source(_store(ctx), crs=metric_crs)
    with _open(dem_path) as dem:
        try:
            rows = intervisibility(model, border, dem, observer_height=observer_height,
                                   target_height=target_height, max_range_m=max_range)
            stakes = propose_stakes(model, border, dem, observer_height=observer_height,
                                    target_height=target_height, pairs=rows)
        except InvalidData as e:
            raise UserError("_raw", text=_reason(ctx, str(e))) from None
    found = stakes[stakes["found"].astype(bool)] if len(stakes) else stakes
    text_of = {}
    for (a, b), g in found.groupby(["marker_from", "marker_to"], sort=False):
        text_of[(a, b)] = " ".join(f"{n}@{c:.0f}m" for n, c in zip(g["number"], g["chainage_m"]))
    rows["stakes"] = [text_of.get(ab, "") for ab in zip(rows["marker_from"], rows["marker_to"])]
    rows = rows.round({"distance_m": 2, "clearance_m": 3, "obstruction_chainage_m": 2,
                       "obstruction_lon": 7, "obstruction_lat": 7})
    if fmt == "json":
        doc = {"border": border, "dem": dem.path, "crs": model.crs.to_string(),
               "observer_height_m": observer_height, "target_height_m": target_height,
               "refraction_k": 0.13, "max_range_m": max_range,
               "pairs": json.loads(rows.drop(columns="stakes").to_json(orient="records")),
               "stakes": json.loads(stakes.round({"chainage_m": 2, "lon": 7, "lat": 7})
                                    .to_json(orient="records"))}
        _write_doc(doc, output)
        return
    _emit_table(rows, fmt, output)


_RISK_NOTE = {
    "vi": "Phương pháp: {m}; ngưỡng chỉ số {a} / {b}{auc}",
    "en": "Method: {m}; index breaks {a} / {b}{auc}",
}
_METHOD_NAME = {"vi": {"wlc": "tổ hợp trọng số (AHP)", "fr": "tỷ số tần suất (FR)"},
                "en": {"wlc": "weighted factors (AHP)", "fr": "frequency ratio (FR)"}}


@terrain.command()
@click.option("--border", required=True, metavar="CODE", help="Border line: CN, LA, KH.")
@_DEM
@click.option("--by", type=click.Choice(["marker", "section"]), default="marker",
              show_default=True, help="One row per marker, or per section between markers.")
@click.option("--method", "method", type=click.Choice(["auto", "fr", "wlc"]), default="auto",
              show_default=True,
              help="fr: frequency ratio fitted from landslide incidents; wlc: AHP weights; "
                   "auto: fr when the store holds at least 5 landslides on the DEM.")
@click.option("--step", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Metres between line samples for sections (default: one DEM cell).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "table"]), default="table",
              show_default=True)
@click.option("--output", "-o", default=None, type=OUTPUT)
@_METRIC
@click.pass_context
def risk(ctx, border, dem_path, by, method, step, fmt, output, metric_crs):
    """Landslide exposure of markers and sections (slope, relief, curvature, drainage).

    Classes low/medium/high per marker; per section the share of the line's length in the
    high class. With landslide incidents in the store the frequency-ratio weights are fitted
    from them and the success-rate AUC is reported (see bienmoc.terrain.risk)."""
    from bienmoc.errors import InvalidData
    from bienmoc.geometry.locate import BorderModel
    from bienmoc.model.source import frames
    from bienmoc.terrain.risk import landslide_exposure

    lang = _lang(ctx)
    border = border_option(ctx, border)
    store = _store(ctx)
    f = frames(store, ("boundary", "markers", "provinces"))
    inc = store.read("incidents") if "incidents" in store.layers() else None
    slides = inc[inc["kind"] == "landslide"] if inc is not None and len(inc) else None
    model = BorderModel(f["boundary"], f["markers"], f["provinces"], crs=metric_crs)
    with _open(dem_path) as dem:
        try:
            ex = landslide_exposure(model, border, dem, step=step, method=method,
                                    landslides=slides)
        except InvalidData as e:
            raise UserError("_raw", text=_reason(ctx, str(e))) from None
    table = (ex.markers if by == "marker" else ex.sections).copy()
    table = table.round({"chainage_m": 2, "lon": 7, "lat": 7, "elevation_m": 2,
                         "slope_deg": 2, "relief_m": 1, "profile_curv": 6, "plan_curv": 6,
                         "drainage_m": 1, "index": 4, "length_m": 1, "high_m": 1,
                         "high_share": 4, "mean_index": 4})
    if fmt == "json":
        doc = {"border": border, "dem": dem.path, **ex.meta(),
               "markers": json.loads(ex.markers.to_json(orient="records")),
               "sections": json.loads(ex.sections.to_json(orient="records"))}
        _write_doc(doc, output)
        return
    if fmt == "table":  # classes as labels via bienmoc.model.labels.VALUES, numbers via fmt
        auc = "" if ex.auc is None else \
            f"; AUC = {fmt_number(ex.auc, lang, 3)} ({fmt_number(ex.landslides, lang)})"
        click.echo(_RISK_NOTE[lang].format(m=_METHOD_NAME[lang][ex.method],
                                           a=fmt_number(round(ex.breaks[0], 4), lang),
                                           b=fmt_number(round(ex.breaks[1], 4), lang),
                                           auc=auc), err=True)
    _emit_table(table, fmt, output)


from bienmoc.cli import viewshed as _viewshed  # noqa: E402,F401  (registers terrain viewshed)
