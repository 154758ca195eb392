"""Field forms and field exports: the XLSForm, and ODK Central / KoboToolbox / QField exports
imported once through the rule layer (made here from the tools' documented formats).

The tiny world (bienmoc.testing): border LA along lon 104.5 from lat 21.0 south to 20.9, Vietnam
to the east; markers 100 (21.0), 100/1, 101 (20.99), 101/1 (20.985), 102 (20.97), 103 (20.93),
104 (20.9); Sơn La north of lat 20.95, Thanh Hóa south of it.
"""
from __future__ import annotations

from pathlib import Path
import json
import zipfile

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod

from bienmoc.cli.main import main
from bienmoc.errors import InvalidData
from bienmoc.io.fieldforms import (build_xlsform, detect_field_export, import_field_export,
                                   read_field_export)
from bienmoc.model.enums import FoundCondition, IncidentKind, InspectionTeam

LON = 104.5
ODK_META = ["SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected",
            "Status", "ReviewState", "DeviceID", "Edits", "FormVersion"]


def _csv(rows: list[dict], sep: str = ",") -> bytes:
    return pd.DataFrame(rows).to_csv(index=False, sep=sep).encode("utf-8")


def _odk_inspections(tmp_path, *, accuracy=(4.5, 6.0), marker2="LA:103") -> Path:
    """An ODK Central export (CSV zip) of two inspections with a repeat of photos."""
    main_rows = []
    for i, (marker, lat, acc) in enumerate([("LA:101", 20.99, accuracy[0]),
                                            (marker2, 20.93, accuracy[1])]):
        main_rows.append({
            "SubmissionDate": "2026-03-02T08:00:00.000Z", "start": "2026-03-01T07:00:00.000+07:00",
            "end": "2026-03-01T07:20:00.000+07:00", "border": "LA", "marker": marker,
            "date": "2026-03-01", "team": "joint", "condition": "good", "notes": f"ghi chú {i}",
            "location-Latitude": lat + 0.0001, "location-Longitude": LON + 0.0001,
            "location-Altitude": 812.0, "location-Accuracy": acc,
            "meta-instanceID": f"uuid:insp-{i}", "KEY": f"uuid:insp-{i}",
            **{m: "" for m in ODK_META}})
    photos = [{"photo": "a.jpg", "PARENT_KEY": "uuid:insp-0", "KEY": "uuid:insp-0/photos[1]"},
              {"photo": "b.jpg", "PARENT_KEY": "uuid:insp-0", "KEY": "uuid:insp-0/photos[2]"}]
    path = tmp_path / "bienmoc_inspections.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("bienmoc_inspections.csv", _csv(main_rows))
        z.writestr("bienmoc_inspections-photos.csv", _csv(photos))
    return path


def _odk_incidents(tmp_path) -> Path:
    rows = []
    for i, (lat, review) in enumerate([(20.975, "approved"), (20.92, ""), (20.96, "rejected")]):
        rows.append({
            "SubmissionDate": "2026-03-02T08:00:00.000Z", "details-kind": "illegal_crossing",
            "details-status": "reported", "details-occurred_date": "2026-02-27",
            "details-reported_date": "2026-02-28", "details-description": f"vụ {i}",
            "location-Latitude": lat, "location-Longitude": LON + 0.005,
            "location-Altitude": "", "location-Accuracy": 3.0,
            "meta-instanceID": f"uuid:inc-{i}", "KEY": f"uuid:inc-{i}",
            **{m: "" for m in ODK_META}, "ReviewState": review})
    path = tmp_path / "bienmoc_incidents.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("bienmoc_incidents.csv", _csv(rows))
    return path


def _kobo_csv(tmp_path, n: int = 2, accuracy: float = 5.0) -> Path:
    rows = []
    for i in range(n):
        lat = 20.975 - 0.0001 * i
        rows.append({
            "start": "2026-03-01T07:00:00.000+07:00", "details/kind": "Xâm canh, xâm cư",  # the label
            "details/status": "reported", "details/occurred_date": "",
            "details/reported_date": "2026-03-01", "details/description": "phát hiện khi tuần tra",
            "location": f"{lat} {LON + 0.004} 0 {accuracy}", "_location_latitude": lat,
            "_location_longitude": LON + 0.004, "_location_altitude": 0,
            "_location_precision": accuracy, "meta/instanceID": f"uuid:kobo-{i}",
            "_id": 1000 + i, "_uuid": f"kobo-{i}", "_submission_time": "2026-03-01T01:00:00",
            "_validation_status": "", "_status": "submitted_via_web", "_index": i + 1})
    path = tmp_path / "kobo_incidents.csv"
    path.write_bytes(_csv(rows, sep=";"))
    return path


def _qfield_gpkg(tmp_path) -> Path:
    gdf = gpd.GeoDataFrame(
        {"kind": ["landslide", "encroachment"], "status": ["reported", "verifying"],
         "reported_date": pd.to_datetime(["2026-01-10", "2026-01-11"]),
         "description": ["sạt lở taluy", "lấn chiếm"],
         "uuid": ["{6f1c0e2a-0000-4000-8000-000000000001}",
                  "{6f1c0e2a-0000-4000-8000-000000000002}"],
         "horizontal_accuracy": [2.5, 8.0]},
        geometry=[shapely.Point(LON + 0.006, 20.93), shapely.Point(LON + 0.006, 20.96)],
        crs=4326)
    path = tmp_path / "qfield_survey.gpkg"
    gdf.to_file(path, layer="incidents", driver="GPKG")
    return path


# -- the form ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["incidents", "inspections"])
def test_xlsform_converts_with_pyxform_and_lists_choices_in_both_languages(store, tmp_path, kind):
    from pyxform.xls2xform import convert

    path = build_xlsform(kind, tmp_path / f"{kind}.xlsx", store=store)
    xform = convert(xlsform=str(path), validate=False).xform
    assert "<h:title>bienmoc" in xform
    wb = openpyxl.load_workbook(path)
    head = [c.value for c in wb["choices"][1]]
    choices = pd.DataFrame([[c.value for c in r] for r in wb["choices"].iter_rows(min_row=2)],
                           columns=head)
    survey = pd.DataFrame([[c.value for c in r] for r in wb["survey"].iter_rows(min_row=2)],
                          columns=[c.value for c in wb["survey"][1]])
    loc = survey[survey["name"] == "location"].iloc[0]
    assert loc["type"] == "geopoint" and loc["constraint"] == "selected-at(., 3) <= 20"
    enums = [IncidentKind] if kind == "incidents" else [InspectionTeam, FoundCondition]
    for enum in enums:
        for member in enum:
            row = choices[choices["name"] == member.value].iloc[0]
            assert row["label::Tiếng Việt (vi)"] == member.vi
            assert row["label::English (en)"] == member.en
    if kind == "inspections":
        markers = choices[choices["list_name"] == "marker"]
        assert len(markers) == 8 and (markers["border"] == "LA").all()
        assert markers[markers["name"] == "LA:101/1"]["label::Tiếng Việt (vi)"].item() == \
            "Mốc 101/1"
        assert survey.loc[survey["name"] == "marker", "choice_filter"].item() == \
            "border = ${border}"


def test_cli_forms_build(store, tmp_path):
    out = tmp_path / "f.xlsx"
    r = CliRunner().invoke(main, ["--store", store.uri, "forms", "build", "--kind",
                                  "inspections", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "Đã ghi biểu mẫu XLSForm" in r.output and out.exists()


# -- exports ----------------------------------------------------------------------------------

def test_detects_each_tool(tmp_path):
    assert detect_field_export(_odk_inspections(tmp_path)) == "odk"
    assert detect_field_export(_kobo_csv(tmp_path)) == "kobo"
    assert detect_field_export(_qfield_gpkg(tmp_path)) == "qfield"
    plain = tmp_path / "plain.csv"
    plain.write_text("kind,lon,lat\nlandslide,104.5,21\n")
    assert detect_field_export(plain) is None


def test_odk_zip_imports_once_with_its_repeat(store, tmp_path):
    path = _odk_inspections(tmp_path)
    before = len(store.read("inspections"))
    r = CliRunner().invoke(main, ["--store", store.uri, "import", "inspections", str(path)])
    assert r.exit_code == 0, r.output
    assert "Đã nhập 2 bản ghi từ ODK Central" in r.output and "bỏ qua 0" in r.output
    got = store.read("inspections").iloc[before:].sort_values("marker").reset_index(drop=True)
    assert list(got["marker"]) == ["101", "103"]
    assert list(got["photos"].fillna("")) == ["a.jpg; b.jpg", ""]
    assert list(got["team"]) == ["joint", "joint"]
    assert got["date"].dt.strftime("%Y-%m-%d").tolist() == ["2026-03-01", "2026-03-01"]
    # the same export again adds nothing and says so
    r = CliRunner().invoke(main, ["--store", store.uri, "import", "inspections", str(path)])
    assert r.exit_code == 0, r.output
    assert "Đã nhập 0 bản ghi" in r.output and "bỏ qua 2" in r.output
    assert len(store.read("inspections")) == before + 2


def test_odk_incidents_are_located_and_rejected_ones_left_out(store, tmp_path):
    n0 = len(store.read("incidents"))
    data = import_field_export(store, "incidents", _odk_incidents(tmp_path))
    assert data.attrs["added"] == 2 and data.attrs["excluded"] == {"rejected": 1}
    new = store.read("incidents").iloc[n0:].sort_values("chainage_m").reset_index(drop=True)
    first = new.iloc[0]
    # 0.005° east of the line at lat 20.975: Vietnam's side, ~520 m away, 2.77 km down the
    # line from its north end at lat 21.0, between stake 101/1 (20.985) and marker 102 (20.97)
    geod = Geod(ellps="WGS84")
    d = geod.inv(LON, 20.975, LON + 0.005, 20.975)[2]
    s = geod.inv(LON, 21.0, LON, 20.975)[2]
    assert first["side"] == "VN" and first["border"] == "LA"
    assert first["distance_m"] == pytest.approx(d, abs=1.0)
    assert first["chainage_m"] == pytest.approx(s, abs=2.0)
    assert {first["marker_before"], first["marker_after"]} == {"101/1", "102"}
    assert first["province"] == "Sơn La" and new.iloc[1]["province"] == "Thanh Hóa"
    assert {new.iloc[1]["marker_before"], new.iloc[1]["marker_after"]} == {"103", "104"}
    again = import_field_export(store, "incidents", _odk_incidents(tmp_path))
    assert again.attrs["added"] == 0 and again.attrs["skipped"] == 2
    assert len(store.read("incidents")) == n0 + 2


def test_kobo_csv_and_geojson_import_once(store, tmp_path):
    n0 = len(store.read("incidents"))
    path = _kobo_csv(tmp_path, n=3)
    data = import_field_export(store, "incidents", path)
    assert len(data) == 3 and set(data["kind"]) == {"encroachment"}  # the label, parsed
    assert import_field_export(store, "incidents", path).attrs["skipped"] == 3
    # the same submissions as Kobo's GeoJSON export: already there
    gj = tmp_path / "kobo.geojson"
    feats = [{"type": "Feature", "geometry": {"type": "Point",
                                              "coordinates": [LON + 0.004, 20.975 - 0.0001 * i]},
              "properties": {"kind": "encroachment", "status": "reported",
                             "reported_date": "2026-03-01", "_uuid": f"kobo-{i}"}}
             for i in range(4)]
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    assert detect_field_export(gj) == "kobo"
    more = import_field_export(store, "incidents", gj)
    assert more.attrs["added"] == 1 and more.attrs["skipped"] == 3
    assert len(store.read("incidents")) == n0 + 4


def test_qfield_layer_imports_once(store, tmp_path):
    path = _qfield_gpkg(tmp_path)
    n0 = len(store.read("incidents"))
    r = CliRunner().invoke(main, ["--store", store.uri, "--lang", "en", "import", "incidents",
                                  str(path)])
    assert r.exit_code == 0, r.output
    assert "Imported 2 records from QField" in r.output
    new = store.read("incidents").iloc[n0:]
    assert sorted(new["kind"]) == ["encroachment", "landslide"]
    assert set(new["side"]) == {"VN"}
    r = CliRunner().invoke(main, ["--store", store.uri, "--lang", "en", "import", "incidents",
                                  str(path)])
    assert "Imported 0 records" in r.output and "skipped 2" in r.output


# -- bad rows ---------------------------------------------------------------------------------

def test_poor_accuracy_refuses_its_row_and_writes_nothing(store, tmp_path):
    path = _odk_inspections(tmp_path, accuracy=(4.5, 35.0))
    before = store.read("inspections")
    with pytest.raises(InvalidData) as e:
        import_field_export(store, "inspections", path)
    (p,) = e.value.problems
    assert (p.row, p.field) == (2, "accuracy") and "35 m" in p.reason and "20 m" in p.reason
    assert len(store.read("inspections")) == len(before)
    # a looser threshold, chosen by the office, lets it in
    assert len(import_field_export(store, "inspections", path, max_accuracy_m=50)) == 2


def test_unknown_marker_and_missing_date_name_row_and_field(store, tmp_path):
    path = _odk_inspections(tmp_path, marker2="LA:999")
    r = CliRunner().invoke(main, ["--store", store.uri, "--lang", "en", "import", "inspections",
                                  str(path)])
    assert r.exit_code != 0
    assert "row 2" in r.output and "marker" in r.output and "999" in r.output
    kobo = _kobo_csv(tmp_path, n=2)
    text = kobo.read_text().splitlines()
    head = text[0].split(";")
    cells = text[2].split(";")
    cells[head.index("details/reported_date")] = ""
    kobo.write_text("\n".join([text[0], text[1], ";".join(cells)]) + "\n")
    with pytest.raises(InvalidData) as e:
        import_field_export(store, "incidents", kobo)
    assert [(p.row, p.field) for p in e.value.problems] == [(2, "reported_date")]


def test_read_field_export_keeps_ids_per_tool(tmp_path):
    odk = read_field_export(_odk_inspections(tmp_path), "inspections")
    assert list(odk.keys) == ["odk:uuid:insp-0", "odk:uuid:insp-1"]
    kobo = read_field_export(_kobo_csv(tmp_path), "incidents")
    assert list(kobo.keys) == ["kobo:kobo-0", "kobo:kobo-1"]
    assert np.allclose(kobo.accuracy, 5.0)
    qf = read_field_export(_qfield_gpkg(tmp_path), "incidents")
    assert qf.keys[0] == "qfield:6f1c0e2a-0000-4000-8000-000000000001"
