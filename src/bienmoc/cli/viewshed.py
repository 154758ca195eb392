"""``bienmoc terrain viewshed``: what a point, a gate or a marker sees within a radius, and the
visible share of each border section there (registered on the ``terrain`` group)."""
from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from bienmoc.model.places import ascii_fold
from bienmoc.cli.lang import HELP
from bienmoc.cli.main import MSG, OUTPUT, _METRIC, UserError, _emit_table, _store, nfc
from bienmoc.cli.terrain import _DEM, _open, terrain

HELP.update({
    "terrain viewshed": ("Vùng người quan sát nhìn thấy trong bán kính --radius m trên DEM, và "
                         "tỷ lệ nhìn thấy của mỗi đoạn biên giới (giữa hai mốc liền nhau) trong "
                         "bán kính đó.\n\ngeojson: vùng nhìn thấy (đa giác, kinh độ/vĩ độ) và "
                         "điểm quan sát, các đoạn trong thành phần \"sections\"; json: tóm tắt "
                         "và các đoạn; tif: raster (1 nhìn thấy, 0 bị che, 255 không có dữ liệu "
                         "/ ngoài bán kính) ghi vào --output, và bảng các đoạn. Có tính độ cong "
                         "Trái Đất và khúc xạ (k = 0,13) như gdal_viewshed -cc 0.87.", None),
    "terrain viewshed --at": ("Người quan sát tại điểm này (KINH_ĐỘ,VĨ_ĐỘ).", None),
    "terrain viewshed --gate": ("Người quan sát tại cửa khẩu này (tên).", None),
    "terrain viewshed --marker": ("Người quan sát tại mốc này, ví dụ LA:102.", None),
    "terrain viewshed --radius": ("Bán kính quanh người quan sát (m).", None),
    "terrain viewshed --observer-height": ("Chiều cao mắt người quan sát (m) trên mặt đất.",
                                           None),
    "terrain viewshed --target-height": ("Chiều cao (m) trên mặt đất của vật cần nhìn thấy.",
                                         None),
    "terrain viewshed --format": ("Định dạng kết quả: geojson (vùng nhìn thấy), json (tóm tắt "
                                  "và các đoạn), tif (raster, cần --output).", None),
    "terrain viewshed --output": ("Tệp kết quả (mặc định: in ra màn hình; bắt buộc với tif).",
                                  None),
})

MSG.update({
    "vs_where": ("cần đúng một trong --at, --gate, --marker (điểm quan sát)",
                 "give exactly one of --at, --gate, --marker (the observer)"),
    "vs_at": ("--at phải có dạng KINH_ĐỘ,VĨ_ĐỘ (ví dụ 104.5,20.97), không phải {value!r}",
              "--at must be LON,LAT (e.g. 104.5,20.97), not {value!r}"),
    "vs_gate": ("Không có cửa khẩu tên {name!r}", "No gate named {name!r}"),
    "vs_marker_form": ("--marker phải có dạng BIÊN_GIỚI:SỐ (ví dụ LA:102), không phải {value!r}",
                       "--marker must be BORDER:NUMBER (e.g. LA:102), not {value!r}"),
    "vs_marker": ("Không có mốc {value}", "No marker {value}"),
    "vs_outside": ("điểm quan sát ({lon:.6f}, {lat:.6f}) nằm ngoài DEM {path}",
                   "the observer ({lon:.6f}, {lat:.6f}) is outside the DEM {path}"),
    "vs_nodata": ("DEM {path} không có dữ liệu tại điểm quan sát ({lon:.6f}, {lat:.6f})",
                  "the DEM {path} has no data at the observer ({lon:.6f}, {lat:.6f})"),
    "vs_tif": ("--format tif cần --output TỆP.tif", "--format tif needs --output FILE.tif"),
})

def _observer(ctx, store, at: str | None, gate: str | None, marker: str | None):
    """(lon, lat, label) of the observer named by exactly one of the options."""
    if sum(v is not None for v in (at, gate, marker)) != 1:
        raise UserError("vs_where")
    if at is not None:
        try:
            lon, lat = (float(p) for p in at.split(","))
        except ValueError:
            raise UserError("vs_at", value=at) from None
        if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180
                and -90 <= lat <= 90):
            raise UserError("vs_at", value=at)
        return lon, lat, f"{lon},{lat}"
    if gate is not None:
        gates = store.read("gates")
        names = gates["name"].astype(str)
        hit = gates[names.map(nfc) == nfc(gate)]
        if not len(hit):
            hit = gates[names.map(ascii_fold) == ascii_fold(gate)]
        hit = hit[hit.geometry.notna()]
        if not len(hit):
            raise UserError("vs_gate", name=gate)
        p = hit.geometry.to_crs(4326).iloc[0]
        return p.x, p.y, str(hit["name"].iloc[0])
    from bienmoc.model.numbers import parse_number

    border, sep, number = marker.partition(":")
    if not sep or not border.strip() or not number.strip():
        raise UserError("vs_marker_form", value=marker)
    markers = store.read("markers")
    markers = markers[(markers["border"].astype(str) == border.strip().upper())
                      & markers.geometry.notna()]
    hit = markers[markers["number"].astype(str) == number.strip()]
    if not len(hit):   # "102" names the position of 102(1) and 102(2): their mean
        try:
            want = parse_number(number.strip()).position
            pos = [parse_number(str(n)).position for n in markers["number"]]
        except Exception:
            raise UserError("vs_marker", value=marker) from None
        hit = markers[[p == want for p in pos]]
    if not len(hit):
        raise UserError("vs_marker", value=marker)
    pts = hit.geometry.to_crs(4326)
    return float(pts.x.mean()), float(pts.y.mean()), f"{border.strip().upper()}:{number.strip()}"


@terrain.command()
@click.option("--at", default=None, metavar="LON,LAT", help="Observer at this point.")
@click.option("--gate", default=None, metavar="NAME", help="Observer at this gate.")
@click.option("--marker", default=None, metavar="BORDER:NUMBER",
              help="Observer at this marker, e.g. LA:102.")
@click.option("--radius", type=click.FloatRange(min=0, min_open=True), default=10_000.0,
              show_default=True, help="Metres around the observer.")
@_DEM
@click.option("--observer-height", type=click.FloatRange(min=0), default=1.5,
              show_default=True, help="Eye height (m) above the ground.")
@click.option("--target-height", type=click.FloatRange(min=0), default=0.0,
              show_default=True, help="Height (m) above the ground of what is to be seen.")
@click.option("--format", "fmt", type=click.Choice(["geojson", "json", "tif"]),
              default="geojson", show_default=True)
@click.option("--output", "-o", default=None, type=OUTPUT)
@_METRIC
@click.pass_context
def viewshed(ctx, at, gate, marker, radius, dem_path, observer_height, target_height, fmt,
             output, metric_crs):
    """What an observer sees within --radius m, over the DEM, and the visible share of each
    border section (between consecutive markers) within the radius.

    geojson: the visible area (polygon, lon/lat) and the observer, with the sections as a
    "sections" member; json: a summary and the sections; tif: the raster (1 visible,
    0 hidden, 255 no data / outside the radius) to --output, and the sections as a table.
    Earth curvature and refraction (k = 0.13) as gdal_viewshed -cc 0.87."""
    from bienmoc.geometry.locate import BorderModel
    from bienmoc.terrain.viewshed import ObserverError, viewshed as _viewshed

    if fmt == "tif" and not output:
        raise UserError("vs_tif")
    store = _store(ctx)
    lon, lat, label = _observer(ctx, store, at, gate, marker)
    with _open(dem_path) as dem:
        try:
            v = _viewshed(dem, lon, lat, radius_m=radius, observer_height=observer_height,
                          target_height=target_height)
        except ObserverError as e:
            key = "vs_nodata" if "no data" in str(e) else "vs_outside"
            raise UserError(key, lon=lon, lat=lat, path=dem.path) from None
        path = dem.path
    model = BorderModel.from_source(store, crs=metric_crs)
    sections = v.visible_share(model).round({"length_m": 2, "length_in_radius_m": 2,
                                             "visible_m": 2, "visible_share": 4})
    if fmt == "tif":
        v.to_tif(output)
        _emit_table(sections, "table", None)  # headers: bienmoc.model.labels.DERIVED
        return
    olon, olat = v.observer_lonlat
    summary = {"observer": {"name": label, "lon": round(olon, 7), "lat": round(olat, 7),
                            "ground_m": round(v.ground_m, 2), "height_m": observer_height},
               "radius_m": radius, "target_height_m": target_height, "refraction_k": v.k,
               "dem": path, "cell_m": [round(c, 3) for c in v.cell_m],
               "cells_visible": v.visible_cells, "cells_with_data": v.valid_cells,
               "visible_share": round(v.share, 4) if v.valid_cells else None,
               "visible_area_m2": round(v.visible_area_m2, 1)}
    secs = json.loads(sections.to_json(orient="records"))
    if fmt == "json":
        doc = {**summary, "sections": secs}
    else:
        from shapely.geometry import mapping

        doc = {"type": "FeatureCollection",
               "features": [
                   {"type": "Feature", "geometry": mapping(v.polygon()),
                    "properties": {"kind": "viewshed", **{k: val for k, val in summary.items()
                                                          if k != "observer"}}},
                   {"type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [round(olon, 7),
                                                                  round(olat, 7)]},
                    "properties": {"kind": "observer", **summary["observer"]}}],
               "sections": secs}
    text = json.dumps(doc, ensure_ascii=False, indent=None if fmt == "geojson" else 2)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text)
