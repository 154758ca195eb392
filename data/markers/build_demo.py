#!/usr/bin/env python3
"""Build the bienmoc demo dataset from the real border lines and province polygons.

Reads only ``sources/`` next to this file and writes the demo layers next to it as GeoJSON
(EPSG:4326): boundary, provinces, markers, gates, works, incidents and an empty inspections
layer. README.md says which parts are real and which are illustrative. The build is
deterministic (fixed seed): two runs give byte-identical files. Run from any folder::

    python data/markers/build_demo.py

Geometry work happens in metres (EPSG:32648). Chainage runs from the stored start of a line,
continuously over the parts of a MultiLineString (gaps between parts do not count).
"""
from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

HERE = Path(__file__).resolve().parent
try:
    from bienmoc.schema import SCHEMAS, validate
except ImportError:  # a source tree without bienmoc installed
    sys.path.insert(0, str(HERE.parents[1] / "src"))
    from bienmoc.schema import SCHEMAS, validate

SOURCES = HERE / "sources"
WGS84, METRIC, VN2000 = "EPSG:4326", "EPSG:32648", "EPSG:3405"
SEED = 20241119
BORDERS = ("CN", "LA", "KH")
OFFICIAL_KM = {"CN": 1449.566, "LA": 2337.459, "KH": 1137.0}
NAME_FIXES = {"Quản Bình": "Quảng Bình", "Kien Giang": "Kiên Giang", "Đăk Lăk": "Đắk Lắk",
              "Đăk Nông": "Đắk Nông"}
# The source gives every province the code "AD01"; we store the GSO province codes instead.
GSO_CODES = {"Hà Giang": "02", "Cao Bằng": "04", "Lào Cai": "10", "Điện Biên": "11",
             "Lai Châu": "12", "Sơn La": "14", "Lạng Sơn": "20", "Quảng Ninh": "22",
             "Thanh Hóa": "38", "Nghệ An": "40", "Hà Tĩnh": "42", "Quảng Bình": "44",
             "Quảng Trị": "45", "Thừa Thiên Huế": "46", "Quảng Nam": "49", "Kon Tum": "62",
             "Gia Lai": "64", "Đắk Lắk": "66", "Đắk Nông": "67", "Bình Phước": "70",
             "Tây Ninh": "72", "Long An": "80", "Đồng Tháp": "87", "An Giang": "89",
             "Kiên Giang": "91"}
BUILT_YEARS = {"CN": (2001, 2008), "LA": (2008, 2016), "KH": (2012, 2019)}

# Real gate pairs. lon/lat are approximate: each gate is snapped to its line and moved
# 200-800 m into Vietnam. Dates other than Lóng Sập's are approximate/illustrative.
GATES = """\
CN|a-pa-chai|A Pa Chải|Long Phú|Điện Biên|main|planned||2022-06-01|102.17|22.40
CN|ma-lu-thang|Ma Lù Thàng|Kim Thủy Hà|Lai Châu|main|open|2005-09-01|2023-04-01|103.24|22.58
CN|lao-cai|Lào Cai|Hà Khẩu|Lào Cai|international|open|1993-05-18|2023-01-08|103.965|22.505
CN|thanh-thuy|Thanh Thủy|Thiên Bảo|Hà Giang|international|open|2000-03-01|2023-01-08|104.86|22.93
CN|tra-linh|Trà Lĩnh|Long Bang|Cao Bằng|main|upgrading|2002-07-01|2023-06-01|106.34|22.83
CN|ta-lung|Tà Lùng|Thủy Khẩu|Cao Bằng|main|open|1992-11-01|2023-01-08|106.565|22.485
CN|binh-nghi|Bình Nghi|Bình Nhi Quan|Lạng Sơn|main|open|2016-03-01|2023-04-01|106.52|22.22
CN|coc-nam|Cốc Nam|Lũng Vài|Lạng Sơn|opening|suspended|2010-01-01|2020-02-01|106.62|22.08
CN|tan-thanh|Tân Thanh|Pò Chài|Lạng Sơn|main|open|1994-01-01|2023-01-08|106.66|22.04
CN|dong-dang|Ga Đồng Đăng|Bằng Tường|Lạng Sơn|international|open|1996-02-14|2023-01-08|106.72|21.99
CN|huu-nghi|Hữu Nghị|Hữu Nghị Quan|Lạng Sơn|international|open|1992-02-01|2023-01-08|106.71|21.97
CN|chi-ma|Chi Ma|Ái Điểm|Lạng Sơn|main|open|1998-06-01|2023-01-08|106.98|21.86
CN|hoanh-mo|Hoành Mô|Động Trung|Quảng Ninh|main|open|1998-08-01|2023-01-08|107.42|21.60
CN|bac-phong-sinh|Bắc Phong Sinh|Lý Hỏa|Quảng Ninh|main|open|2000-01-01|2023-01-08|107.70|21.62
CN|mong-cai|Móng Cái|Đông Hưng|Quảng Ninh|international|open|1992-04-01|2023-01-08|107.965|21.54
LA|tay-trang|Tây Trang|Sốp Hùn|Điện Biên|international|open|2006-04-15|2006-04-15|102.89|21.24
LA|huoi-puoc|Huổi Puốc|Na Son|Điện Biên|main|open|2008-01-01|2008-01-01|103.15|21.06
LA|nam-lanh|Nậm Lạnh|Mường Pợ|Sơn La|auxiliary|open|2019-12-20|2019-12-20|103.57|20.75
LA|na-cai|Nà Cài|Xốp Đung|Sơn La|auxiliary|open|2013-12-01|2013-12-01|104.22|20.87
LA|long-sap|Lóng Sập|Pa Háng|Sơn La|international|open|2024-11-19|2024-11-19|104.56|20.74
LA|na-meo|Na Mèo|Nậm Xôi|Thanh Hóa|international|open|2004-09-01|2013-10-01|104.60|20.32
LA|nam-can|Nậm Cắn|Nọng Hét|Nghệ An|international|open|2003-01-01|2003-01-01|103.87|19.44
LA|cau-treo|Cầu Treo|Nậm Phao|Hà Tĩnh|international|open|1998-01-01|1998-01-01|105.10|18.39
LA|cha-lo|Cha Lo|Na Phàu|Quảng Bình|international|open|2002-01-01|2002-01-01|105.76|17.69
LA|lao-bao|Lao Bảo|Đen Sa Vẳn|Quảng Trị|international|open|1990-01-01|1990-01-01|106.59|16.62
LA|la-lay|La Lay|La Lay|Quảng Trị|international|open|2005-06-01|2015-09-01|106.95|16.29
LA|a-dot|A Đớt|Tà Vàng|Thừa Thiên Huế|main|open|2009-01-01|2009-01-01|107.33|16.13
LA|nam-giang|Nam Giang|Đắc Tà Oọc|Quảng Nam|main|open|2009-01-01|2009-01-01|107.40|15.62
LA|bo-y|Bờ Y|Phu Cưa|Kon Tum|international|open|2000-01-01|2000-01-01|107.57|14.72
KH|le-thanh|Lệ Thanh|O Yadav|Gia Lai|international|open|2002-01-01|2002-01-01|107.52|13.78
KH|bu-prang|Bu Prăng|Ô Raing|Đắk Nông|main|open|2009-01-01|2009-01-01|107.37|12.26
KH|hoa-lu|Hoa Lư|Trapeang Sre|Bình Phước|international|open|2007-01-01|2007-01-01|106.56|11.93
KH|tan-nam|Tân Nam|Meun Chey|Tây Ninh|main|upgrading|2002-01-01|2023-03-01|106.13|11.70
KH|xa-mat|Xa Mát|Trapeang Phlong|Tây Ninh|international|open|2002-01-01|2002-01-01|105.99|11.63
KH|moc-bai|Mộc Bài|Bavet|Tây Ninh|international|open|1998-01-01|1998-01-01|106.19|11.08
KH|binh-hiep|Bình Hiệp|Prey Vor|Long An|international|open|2008-01-01|2008-01-01|105.90|10.93
KH|thuong-phuoc|Thường Phước|Koh Roka|Đồng Tháp|international|open|2009-01-01|2009-01-01|105.27|10.9
KH|vinh-xuong|Vĩnh Xương|Kaam Samnor|An Giang|international|open|2005-01-01|2005-01-01|105.19|10.90
KH|tinh-bien|Tịnh Biên|Phnom Den|An Giang|international|open|2003-01-01|2003-01-01|104.96|10.60
KH|ha-tien|Hà Tiên|Prek Chak|Kiên Giang|international|open|2007-01-01|2007-01-01|104.46|10.43
"""
GATE_NOTES = {
    "a-pa-chai": "Quy hoạch cặp cửa khẩu gần mốc ba biên giới Việt Nam – Lào – Trung Quốc",
    "thanh-thuy": "Mốc đôi 261(1)/261(2) tại khu vực cửa khẩu (số liệu thực tế)",
    "tra-linh": "Đang nâng cấp thành cửa khẩu quốc tế",
    "coc-nam": "Chưa khôi phục hoạt động sau dịch COVID-19",
    "dong-dang": "Ga đường sắt liên vận quốc tế Đồng Đăng",
    "huu-nghi": "Youyiguan (友谊关); nằm giữa mốc 1119 và 1120",
    "nam-lanh": "Quy hoạch năm 2014, sau đó khai trương",
    "long-sap": "Tại mốc đại 255; nâng cấp từ cửa khẩu chính, khai trương cặp cửa khẩu quốc tế "
                "ngày 19/11/2024",
    "tan-nam": "Đang nâng cấp thành cửa khẩu quốc tế Tân Nam – Meun Chey",
}

# Works the seed documents name: title, kind, border, marker from/to, province, planned
# start/end, actual start/end, budget planned/disbursed (VND), contractor, notes.
# Dates, budgets and contractors are illustrative.
WORKS = [
    ("Cắm cọc dấu 163/1", "reference_stake", "LA", "163/1", None, "Sơn La", "2015-06-01",
     "2015-12-31", "2015-09-15", "2016-04-20", 0.9e9, 0.9e9, "Công ty TNHH Xây dựng Tây Bắc", None),
    ("Cắm cọc dấu 206/1", "reference_stake", "LA", "206/1", None, "Sơn La", "2015-06-01",
     "2015-12-31", "2015-10-01", "2016-05-10", 0.9e9, 0.9e9, "Công ty TNHH Xây dựng Tây Bắc", None),
    ("Kiến trúc cảnh quan mốc 207", "landscape", "LA", "207", None, "Sơn La", "2016-03-01",
     "2017-12-31", "2016-05-10", "2018-06-30", 4.5e9, 4.5e9, "Công ty CP Xây dựng Mộc Châu", None),
    ("Kiến trúc cảnh quan mốc 255", "landscape", "LA", "255", None, "Sơn La", "2016-01-15",
     "2017-12-31", "2016-04-01", None, 6.8e9, 3.1e9, "Công ty CP Xây dựng Mộc Châu",
     "Chậm tiến độ, tạm dừng thi công do chưa bố trí đủ vốn"),
    ("Kè bảo vệ mốc 222", "embankment", "LA", "222", None, "Sơn La", "2016-06-01", "2018-06-30",
     "2016-10-01", None, 12.5e9, 4.2e9, "Công ty TNHH Thủy lợi Sông Mã",
     "Chậm tiến độ, tạm dừng thi công; bờ sông tiếp tục sạt lở"),
    ("Mở tạm thời đường chuyên dụng vận tải hàng hóa khu vực mốc 1088/2–1089", "road", "CN",
     "1088/2", "1089", "Lạng Sơn", "2020-03-01", "2020-09-30", "2020-03-15", "2020-08-31",
     18e9, 17.2e9, "Công ty CP Giao thông Lạng Sơn", None),
    ("Đấu nối giao thông đường bộ khu vực mốc 1139–1140", "road", "CN", "1139", "1140",
     "Lạng Sơn", "2020-05-01", "2021-06-30", "2020-07-01", "2021-09-30", 26e9, 26e9,
     "Công ty CP Giao thông Lạng Sơn", None),
    ("Mở rộng đường chuyên dụng vận tải hàng hóa khu vực mốc 1119–1120 (cửa khẩu quốc tế "
     "Hữu Nghị)", "road", "CN", "1119", "1120", "Lạng Sơn", "2020-04-01", "2021-12-31",
     "2020-06-01", "2022-03-31", 45e9, 45e9, "Công ty CP Đầu tư Xây dựng Đồng Đăng", None),
    ("Sửa chữa, kè bảo vệ mốc 96", "repair", "KH", "96", None, "Tây Ninh", "2023-02-01",
     "2023-09-30", "2023-03-10", "2023-10-20", 2.4e9, 2.4e9, "Công ty TNHH Xây dựng Tây Ninh",
     None),
    ("Sửa chữa, kè bảo vệ mốc 147/6", "repair", "KH", "147/6", None, "Tây Ninh", "2023-02-01",
     "2023-09-30", "2023-03-20", "2023-09-28", 1.8e9, 1.8e9, "Công ty TNHH Xây dựng Tây Ninh",
     None),
    ("Sửa chữa, kè bảo vệ mốc 152/2", "repair", "KH", "152/2", None, "Tây Ninh", "2023-02-01",
     "2023-09-30", "2023-04-05", "2023-11-15", 1.6e9, 1.6e9, "Công ty TNHH Xây dựng Tây Ninh",
     None),
    ("Thiết kế lại kiến trúc cảnh quan mốc 171", "landscape", "KH", "171", None, "Tây Ninh",
     "2023-03-01", "2023-12-31", "2023-05-02", "2024-03-15", 3.2e9, 3.2e9,
     "Công ty CP Kiến trúc Miền Nam", None),
    ("Thiết kế lại kiến trúc cảnh quan mốc 118", "landscape", "KH", "118", None, "Tây Ninh",
     "2023-03-01", "2023-12-31", "2023-05-15", "2023-12-20", 3.0e9, 3.0e9,
     "Công ty CP Kiến trúc Miền Nam", None),
    ("Thiết kế lại kiến trúc cảnh quan mốc 150", "landscape", "KH", "150", None, "Tây Ninh",
     "2023-03-01", "2023-12-31", "2023-06-01", None, 3.1e9, 1.9e9,
     "Công ty CP Kiến trúc Miền Nam", "Đang thi công"),
    ("Cắm tăng dày cọc dấu đoạn 168–168/2", "reference_stake", "KH", "168", "168/2",
     "Tây Ninh", "2023-04-01", "2023-11-30", "2023-05-08", "2023-12-15", 0.8e9, 0.8e9,
     "Đoàn Kỹ thuật Biên giới", "Cắm 2 cọc dấu 168/1 và 168/2"),
]

INCIDENT_KINDS = {  # kind: (share, Vietnamese description template; all illustrative)
    "illegal_crossing": (0.20, "Phát hiện {n} người xuất cảnh trái phép qua đường mòn khu vực "
                               "mốc {m}."),
    "illegal_trade": (0.17, "Bắt giữ vụ vận chuyển hàng lậu ({goods}) qua biên giới gần mốc {m}."),
    "free_migration": (0.10, "{n} hộ dân di cư tự do đến sinh sống gần mốc {m}, chưa đăng ký cư "
                             "trú."),
    "encroachment": (0.11, "Canh tác lấn sang lãnh thổ Việt Nam khoảng {a} m² gần mốc {m}."),
    "construction": (0.08, "Phía bên kia xây dựng công trình sát đường biên giới khu vực mốc {m}."),
    "marker_damage": (0.10, "Mốc {m} bị {damage}."),
    "landslide": (0.10, "Sạt lở đất khu vực mốc {m}, nguy cơ ảnh hưởng mốc và đường tuần tra."),
    "pollution": (0.06, "Nước suối biên giới gần mốc {m} có dấu hiệu ô nhiễm (đổi màu, cá chết)."),
    "other": (0.08, "{other} gần mốc {m}."),
}
GOODS = ["đường cát", "thuốc lá điếu", "gia cầm", "pháo nổ", "quần áo may sẵn", "gỗ"]
DAMAGE = ["nứt chân đế", "bong tróc sơn, mờ chữ", "nghiêng do sạt lở", "xê dịch khỏi vị trí"]
OTHER = ["Phía bên kia đặt cống thoát nước trên đường vành đai biên giới",
         "Gia súc thả rông qua lại biên giới", "Phát hiện biển báo biên giới bị đổ"]
STATUSES = ["reported", "verifying", "negotiating", "resolved"]
LANG_SON_2020 = [  # the two violations the Lạng Sơn report names for 9 months of 2020
    ("1096", 300.0, "2020-04-14", "Phía Trung Quốc thi công hàng rào sát đường biên giới khu vực "
     "mốc 1096, vi phạm Hiệp định về Quy chế quản lý biên giới; đã giao thiệp, phía bạn dừng thi "
     "công."),
    ("1131", 150.0, "2020-08-21", "Phía Trung Quốc xây dựng công trình sát đường biên giới khu "
     "vực mốc 1131, vi phạm Hiệp định; đã trao đổi qua kênh giao thiệp, phía bạn tháo dỡ."),
]


class Line:
    """A border line in metres, addressed by chainage (gaps between parts are not counted).

    Long parts are cut into chunks of 200 segments: interpolation along a line costs time in
    proportion to its vertex count, and chunking leaves every chainage unchanged.
    """

    def __init__(self, geom):
        self.ends = (shapely.get_parts(geom)[0], shapely.get_parts(geom)[-1])
        chunks = []
        for part in shapely.get_parts(geom):
            xy = shapely.get_coordinates(part)
            chunks += [shapely.linestrings(xy[i:i + 201]) for i in range(0, len(xy) - 1, 200)]
        self.parts = np.array(chunks, dtype=object)
        self.lengths = shapely.length(self.parts)
        self.starts = np.concatenate([[0.0], np.cumsum(self.lengths)[:-1]])
        self.length = float(self.lengths.sum())

    def _split(self, ch):
        ch = np.clip(np.atleast_1d(np.asarray(ch, float)), 0, self.length)
        j = np.clip(np.searchsorted(self.starts, ch, side="right") - 1, 0, len(self.parts) - 1)
        return j, np.clip(ch - self.starts[j], 0, self.lengths[j])

    def _tangent(self, j, loc):
        a = shapely.line_interpolate_point(self.parts[j], np.maximum(loc - 2, 0))
        b = shapely.line_interpolate_point(self.parts[j], np.minimum(loc + 2, self.lengths[j]))
        d = shapely.get_coordinates(b) - shapely.get_coordinates(a)
        return d / np.linalg.norm(d, axis=1, keepdims=True)

    def point(self, ch, offset=0.0):
        """Points at chainage ``ch``, ``offset`` metres to the LEFT (negative: right)."""
        j, loc = self._split(ch)
        pts = shapely.line_interpolate_point(self.parts[j], loc)
        if np.all(np.asarray(offset) == 0):
            return pts
        xy, t = shapely.get_coordinates(pts), self._tangent(j, loc)
        normal = np.column_stack([-t[:, 1], t[:, 0]])
        return shapely.points(xy + np.reshape(np.asarray(offset, float), (-1, 1)) * normal)

    def locate(self, geoms):
        """Chainage, distance (m) and side (+1 left, -1 right) of each geometry's centroid."""
        c = shapely.centroid(np.asarray(geoms, dtype=object))
        d = shapely.distance(c[:, None], self.parts[None, :])
        j = d.argmin(axis=1)
        loc = shapely.line_locate_point(self.parts[j], c)
        v = shapely.get_coordinates(c) - shapely.get_coordinates(
            shapely.line_interpolate_point(self.parts[j], loc))
        t = self._tangent(j, loc)
        side = np.sign(t[:, 0] * v[:, 1] - t[:, 1] * v[:, 0])
        return self.starts[j] + loc, d[np.arange(len(c)), j], side


class Provinces:
    """Nearest-province lookup over the output province polygons, in metres."""

    def __init__(self, prov):
        self.names = prov["name"].to_numpy()
        self.tree = shapely.STRtree(to_metric(prov.geometry.values))

    def index(self, geoms):
        """Index of the nearest province (the containing one when exactly one contains)."""
        geoms = np.asarray(geoms, dtype=object)
        out = np.full(len(geoms), -1)
        inside = self.tree.query(geoms, predicate="within")
        hit = (np.bincount(inside[0], minlength=len(geoms)) == 1)[inside[0]]
        out[inside[0][hit]] = inside[1][hit]
        rest = np.flatnonzero(out < 0)
        idx = self.tree.query_nearest(geoms[rest], all_matches=False)
        out[rest[idx[0]]] = idx[1]
        return out

    def nearest(self, geoms):
        return self.names[self.index(geoms)]

    def runs(self, line, step=100.0, window=11):
        """Province intervals (name, ch0, ch1) along ``line``: nearest province of a sample
        every ``step`` m, with majority smoothing over ``window`` samples."""
        ch = np.arange(step / 2, line.length, step)
        onehot = np.eye(len(self.names))[self.index(line.point(ch))]
        votes = np.apply_along_axis(np.convolve, 0, onehot, np.ones(window), "same")
        smooth = (votes + 0.5 * onehot).argmax(axis=1)
        cut = np.concatenate([[0], np.flatnonzero(np.diff(smooth)) + 1, [len(ch)]])
        return [(self.names[smooth[a]], ch[a] - step / 2 if a else 0.0,
                 ch[b - 1] + step / 2 if b < len(ch) else line.length)
                for a, b in zip(cut[:-1], cut[1:])]


def interval(runs, name):
    hits = [(a, b) for n, a, b in runs if n == name]
    assert len(hits) == 1, f"{name}: expected one contiguous run, got {hits}"
    return hits[0]


def to_metric(geoms):
    return gpd.GeoSeries(geoms, crs=WGS84).to_crs(METRIC).values


def to_wgs84(geoms):
    """Metric geometries to lon/lat rounded to 7 decimals (as written)."""
    out = np.asarray(gpd.GeoSeries(geoms, crs=METRIC).to_crs(WGS84).values, dtype=object)
    return shapely.transform(out, lambda xy: np.round(xy, 7))


def random_dates(rng, start, end, n):
    d0, d1 = date.fromisoformat(start), date.fromisoformat(end)
    return [(d0 + timedelta(days=int(k))).isoformat()
            for k in rng.integers(0, (d1 - d0).days + 1, n)]


def load_sources():
    lines = gpd.read_file(SOURCES / "vn_land_borders.geojson").set_index("neighbor")
    prov = gpd.read_file(SOURCES / "border_provinces.geojson")
    prov["name"] = prov["name"].replace(NAME_FIXES)
    prov["code"] = [GSO_CODES[n] for n in prov["name"]]
    geoms = shapely.transform(prov.geometry.values, lambda xy: np.round(xy, 6))
    for i in np.flatnonzero(~shapely.is_valid(geoms)):  # rounding pinched a ring: repair
        parts = shapely.get_parts(shapely.make_valid(geoms[i]))
        polygonal = parts[np.isin(shapely.get_type_id(parts), [3, 6])]
        geoms[i] = shapely.multipolygons(shapely.get_parts(polygonal))
    prov = gpd.GeoDataFrame(prov[["name", "code"]], geometry=geoms, crs=WGS84)
    return lines, prov.sort_values("name", ignore_index=True)


def tri_point(line_a, line_b):
    """Chainages on both lines of the point where they meet (their closest points)."""
    sl = shapely.shortest_line(line_a.ends[1], line_b.ends[0])
    p = shapely.line_interpolate_point(sl, 0.5, normalized=True)
    return line_a.locate([p])[0][0], line_b.locate([p])[0][0]


def pick(rng, mask, n, weights=None):
    """Sorted indices of ``n`` rows chosen among ``mask`` (optionally weighted)."""
    idx = np.flatnonzero(mask)
    p = None if weights is None else weights[idx] / weights[idx].sum()
    return np.sort(rng.choice(idx, n, replace=False, p=p))


# -- gates -----------------------------------------------------------------------------------

def place_gates(rng, lines, provinces):
    """Snap each gate to its line and move it 200-800 m into Vietnam (left of the line)."""
    df = pd.DataFrame([r.split("|") for r in GATES.splitlines()],
                      columns=["border", "slug", "name", "paired_gate", "expect", "kind",
                               "status", "opened_date", "status_date", "lon", "lat"])
    df["notes"] = df.slug.map(GATE_NOTES)
    geoms = np.empty(len(df), dtype=object)
    approx = to_metric(shapely.points(df[["lon", "lat"]].astype(float).to_numpy()))
    for i, r in df.iterrows():
        line = lines[r.border]
        ch = line.locate([approx[i]])[0][0]
        shift = np.repeat([0, 150, -150, 300, -300, 600, -600, 1200, -1200], 4)
        cand = line.point(ch + shift, np.tile(np.linspace(rng.uniform(200, 800), 200, 4), 9))
        at, dist, side = line.locate(cand)
        ok = np.flatnonzero((side > 0) & (dist >= 199) & (dist <= 800))
        assert len(ok), f"gate {r['name']}: no position 200-800 m inside Vietnam"
        df.loc[i, "ch"], geoms[i] = at[ok[0]], cand[ok[0]]
    df["province"] = provinces.nearest(geoms)
    wrong = df[df.province != df.expect]
    assert wrong.empty, f"gates snapped to the wrong province:\n{wrong[['name', 'province']]}"
    df["id"] = "G-" + df.border + "-" + df.slug
    return gpd.GeoDataFrame(df, geometry=geoms, crs=METRIC)


# -- markers ---------------------------------------------------------------------------------

def positions(last, sub_counts, first=1):
    """A table of positions: main numbers first..last plus sub-positions N/1..N/k."""
    rows = [(m, 0) for m in range(first, last + 1)]
    rows += [(m, k) for m, n in sorted(sub_counts.items()) for k in range(1, n + 1)]
    pos = pd.DataFrame(rows, columns=["main", "sub"]).sort_values(["main", "sub"])
    pos = pos.reset_index(drop=True)
    pos["position"] = [f"{m}/{s}" if s else str(m) for m, s in zip(pos["main"], pos["sub"])]
    pos["stake"], pos["parts"], pos["kind"] = False, 1, "small"
    return pos


def allocate(rng, gaps, total, forced, weights=None):
    """Spread ``total`` sub-positions over the gaps N..N+1 (multinomial) plus ``forced``."""
    free = [g for g in gaps if g not in forced]
    w = np.ones(len(free)) if weights is None else weights
    counts = rng.multinomial(total - sum(forced.values()), w / w.sum())
    return {**{g: int(k) for g, k in zip(free, counts) if k}, **forced}


def plan_cn(rng):
    """VN-China: 0..1378 with sub-markers and stakes; 1088/1-1088/2 per the Lạng Sơn report."""
    pos = positions(1378, allocate(rng, range(1378), 388, {1088: 2}), first=0)
    protect = pos.position.isin(["0", "1378", "1088/2", "1089", "1119", "1120", "1139", "1140"])
    pos.loc[pick(rng, (pos["sub"] > 0) & (pos.main != 1088), 60), "stake"] = True
    free = ~protect & ~pos.stake
    pos.loc[pick(rng, free, 120), "parts"] = 2
    pos.loc[pick(rng, free & (pos.parts == 1), 1), "parts"] = 3
    return pos, protect


def plan_la(rng):
    """VN-Laos: 792 positions (834 markers) and 168 stakes at 113 positions; Sơn La 163-287."""
    pos = positions(792, {})
    sl_gaps = [163, 206] + sorted(rng.choice([g for g in range(164, 287) if g != 206], 10,
                                             replace=False).tolist())
    other = sorted(rng.choice([g for g in range(1, 792) if g < 162 or g > 287], 101,
                              replace=False).tolist())
    stakes = positions(0, dict.fromkeys(sl_gaps + other, 1), first=1).query("sub > 0")
    stakes = stakes.assign(stake=True, kind="stake")
    stakes.loc[stakes.index[pick(rng, stakes.main.isin(other), 55)], "parts"] = 2
    pos = pd.concat([pos, stakes]).sort_values(["main", "sub"], ignore_index=True)
    protect = pos.main.between(163, 287) | pos.position.isin(["1", "792"])
    pos.loc[pos.position == "222", "parts"] = 2
    pos.loc[pick(rng, ~protect & ~pos.stake, 41), "parts"] = 2
    return pos, protect


def plan_kh(rng):
    """VN-Cambodia: 2,047 markers at 1,553 positions; many small sub-markers N/k."""
    subs = allocate(rng, range(1, 314), 1239, {147: 6, 152: 2, 168: 2}, rng.gamma(2.0, 1, 310))
    pos = positions(314, subs)
    pos.loc[pos.position.isin(["168/1", "168/2"]), "stake"] = True
    protect = pos.position.isin(["1", "96", "118", "150", "152/2", "168", "168/1", "168/2",
                                 "171"] + [f"147/{k}" for k in range(1, 7)])
    river = np.exp(1.5 * np.convolve(rng.normal(size=len(pos)), np.ones(25) / 5, "same"))
    free = ~protect & ~pos.stake
    pos.loc[pick(rng, free, 492, river), "parts"] = 2  # doubles cluster along "rivers"
    pos.loc[pick(rng, free & (pos.parts == 1), 1), "parts"] = 3
    return pos, protect


def numbering(border, line, anchors):
    """Number value -> chainage, piecewise linear between (value, chainage) anchors."""
    vals, ch = np.array(anchors, float).T
    flip = border == "CN"  # VN-China numbers run west->east, against the stored line
    s = line.length - ch if flip else ch
    assert np.all(np.diff(vals) > 0) and np.all(np.diff(s) > 0), f"{border}: bad anchors"
    return lambda v: line.length - np.interp(v, vals, s) if flip else np.interp(v, vals, s)


def placement_ok(m, lines):
    """Per row: a single within 3 m of the line, part (1) on its right, (2)/(3) on its left."""
    ok = np.zeros(len(m), bool)
    for border in BORDERS:
        sel = (m.border == border).to_numpy()
        _, dist, side = lines[border].locate(m.geometry.values[sel])
        part = m.part.to_numpy()[sel]
        ok[sel] = np.where(part == 0, dist <= 3.01, np.where(part == 1, side < 0, side > 0))
    return ok


def build_markers(rng, lines, provinces, runs, gates):
    """All marker rows (metric geometry) with numbers, kinds, statuses and attributes."""
    cn_la, la_cn = tri_point(lines["CN"], lines["LA"])
    la_kh, kh_la = tri_point(lines["LA"], lines["KH"])
    gate_ch = gates.set_index("slug")["ch"]
    sl0, sl1 = interval(runs["LA"], "Sơn La")
    tn0, tn1 = interval(runs["KH"], "Tây Ninh")
    # tri-border pairs stand 2 m along their own line from the crossing: a few metres apart,
    # each unambiguously on its own line
    anchors = {"CN": [(0, cn_la - 2), (1119.5, gate_ch["huu-nghi"]), (1378, 0.0)],
               "LA": [(1, la_cn + 2), (162, sl0 - 1000), (163, sl0 + 1000),
                      (255, gate_ch["long-sap"]), (287, sl1 - 1000), (288, sl1 + 1000),
                      (792, la_kh - 2)],
               "KH": [(1, kh_la + 2), (90, tn0 + 1000), (205, tn1 - 1000),
                      (314, lines["KH"].length)]}
    frames = []
    for border, plan in (("CN", plan_cn), ("LA", plan_la), ("KH", plan_kh)):
        pos, protect = plan(rng)
        kmax = pos.groupby("main")["sub"].transform("max")  # N/k evenly between N and N+1
        value = pos.main + pos["sub"].where(pos["sub"] == 0, pos["sub"] + rng.uniform(
            -0.3, 0.3, len(pos))) / (kmax + 1)
        pos["ch"] = numbering(border, lines[border], anchors[border])(value)
        pos["border"], pos["protect"] = border, protect
        pos["gap_m"] = rng.uniform(10, 25, len(pos))  # distance between double parts
        frames.append(pos)
    pos = pd.concat(frames, ignore_index=True)
    tri = {("CN", "0"), ("LA", "1"), ("LA", "792"), ("KH", "1")}
    pos["tri_border"] = [(b, n) in tri for b, n in zip(pos.border, pos.position)]
    pos.loc[pos.stake, "kind"] = "stake"

    m = pos.loc[pos.index.repeat(pos.parts)].reset_index(names="pos_id")
    m["part"] = np.where(m.parts > 1, m.groupby("pos_id").cumcount() + 1, 0)
    m["number"] = m.position + np.where(m.part > 0, "(" + m.part.astype(str) + ")", "")
    m["arrangement"] = m.parts.map({1: "single", 2: "double", 3: "triple"})
    jitter = rng.uniform(0, 3, len(m)) * rng.choice([-1.0, 1.0], len(m))
    offset = np.select([m.part == 1, m.part >= 2, m.tri_border],
                       [-m.gap_m / 2, m.gap_m / 2, 0.0], jitter)  # (1) right, (2)/(3) left
    along = np.where(m.part == 3, 12.0, 0.0)
    m = gpd.GeoDataFrame(m, geometry=np.full(len(m), None), crs=METRIC)
    redo = np.ones(len(m), bool)
    for attempt in range(1, 6):  # at sharp bends an offset part can land on the wrong side:
        for border in BORDERS:     # move such positions a little along the line and retry
            sel = (m.border == border).to_numpy() & redo
            m.loc[sel, "geometry"] = lines[border].point(m.ch[sel] + along[sel], offset[sel])
        bad = m.pos_id.isin(m.pos_id[~placement_ok(m, lines)]).to_numpy()
        if not bad.any():
            break
        m.loc[bad, "ch"] += 40.0 * attempt * (-1) ** attempt
        redo = bad
    m["province"] = provinces.nearest(to_metric(to_wgs84(m.geometry.values)))
    assign_attributes(rng, m, gates)
    return m


def assign_attributes(rng, m, gates):
    """Kinds, construction status, dates, condition, elevation and VN-2000 coordinates."""
    n, npos = len(m), m.pos_id.max() + 1
    in_sl = ((m.border == "LA") & m["main"].between(163, 287)).to_numpy()
    free = (~m.pos_id.duplicated() & ~m.stake & ~m.protect).to_numpy() & ~in_sl
    m.loc[m.pos_id.isin(m.pos_id[pick(rng, free, 560)]), "kind"] = "medium"
    large = set(m.pos_id[pick(rng, free, 12)]) | set(m.pos_id[m.tri_border])
    large |= set(m.pos_id[m.border.str.cat(m.number, "-").isin(["CN-1378", "LA-207", "LA-255"])])
    for _, g in gates[gates.kind.isin(["international", "main"])].iterrows():
        cand = m[(m.border == g.border) & ~m.stake]  # the position nearest the gate
        large.add(cand.pos_id.iloc[shapely.distance(cand.geometry.values, g.geometry).argmin()])
    m.loc[m.pos_id.isin(large), "kind"] = "large"
    # undemarcated VN-Cambodia sections: markers planned or under construction
    undemarcated = (m.border == "KH") & (m["main"].between(176, 184) | m["main"].between(
        222, 240) | m["main"].between(268, 290))
    m["construction_status"] = np.where(undemarcated, np.where(
        rng.uniform(size=npos)[m.pos_id] < 0.7, "planned", "under_construction"), "built")
    built = (m.construction_status == "built").to_numpy()
    years = np.array([BUILT_YEARS[b] for b in m.border])
    years[in_sl] = (2011, 2015)
    years[(m.stake & (m.border == "LA")).to_numpy()] = (2010, 2016)
    years[in_sl & m.stake.to_numpy()] = (2012, 2015)
    span = np.array([(date(y1, 12, 31) - date(y0, 1, 1)).days for y0, y1 in years])
    offs = (rng.uniform(size=npos)[m.pos_id] * span).astype(int)  # parts share a date
    m["built_date"] = [(date(y0, 1, 1) + timedelta(days=int(o))).isoformat() if b else None
                       for y0, o, b in zip(years[:, 0], offs, built)]
    m["planned_date"] = None
    m.loc[~built, "planned_date"] = random_dates(rng, "2026-03-01", "2028-12-31", (~built).sum())
    cond = rng.choice(["good", "damaged", "displaced", "destroyed", "missing", "unknown"], n,
                      p=[0.86, 0.045, 0.025, 0.006, 0.006, 0.058])
    m["condition"] = np.where(built, cond, "unknown")
    m["notes"] = None
    # elevation: a smooth random profile under an envelope that falls towards the deltas and
    # the Quảng Ninh coast (illustrative, not from a DEM)
    wgs = shapely.get_coordinates(to_wgs84(m.geometry.values))
    envelope = np.interp(wgs[:, 1], [10.3, 11.0, 11.5, 12.5, 14, 17, 20, 22, 23.5],
                         [2, 6, 25, 300, 550, 800, 1000, 1200, 1400])
    coast = np.interp(wgs[:, 0], [106, 107, 107.8, 108.05], [1, 0.5, 0.1, 0.003])
    envelope *= np.where(wgs[:, 1] > 20.5, coast, 1)
    order = np.lexsort([m.ch.to_numpy(), m.border.map(BORDERS.index).to_numpy()])
    wave = np.empty(n)
    wave[order] = np.convolve(rng.normal(size=n), np.ones(15) / np.sqrt(15), "same")
    elev = np.clip(envelope * np.exp(0.35 * wave), 1, 2500).round(1)
    m["elevation_m"] = np.where(rng.uniform(size=n) < 0.7, elev, np.nan)
    # VN-2000 / UTM 48N for a subset: pyproj between EPSG codes, so the datum shift is applied
    x, y = Transformer.from_crs(WGS84, VN2000, always_xy=True).transform(wgs[:, 0], wgs[:, 1])
    has = built & (rng.uniform(size=n) < 0.4)
    m["vn2000_e"] = np.where(has, np.round(x, 3), np.nan)  # easting (EPSG:3405 axis 1)
    m["vn2000_n"] = np.where(has, np.round(y, 3), np.nan)  # northing
    m["vn2000_crs"] = np.where(has, VN2000, None)

    def at(border, *numbers):
        return (m.border == border) & m.number.isin(numbers)
    m.loc[at("CN", "0") | at("LA", "1"), "notes"] = "Mốc ba biên giới Việt Nam – Lào – Trung Quốc"
    m.loc[at("LA", "792") | at("KH", "1"), "notes"] = "Mốc ba biên giới Việt Nam – Lào – Campuchia"
    m.loc[at("CN", "1378"), "notes"] = "Cửa sông Bắc Luân"
    m.loc[at("LA", "163/1", "206/1"), "built_date"] = ["2016-04-20", "2016-05-10"]  # = works
    m.loc[at("LA", "222(2)"), ["condition", "notes"]] = [
        "damaged", "Bờ sông sạt lở; kè bảo vệ mốc đang thi công dở dang"]
    m.loc[at("LA", "255"), "notes"] = "Mốc đại tại cửa khẩu Lóng Sập – Pa Háng"
    m.loc[at("KH", "96", "147/6", "152/2"), ["condition", "notes"]] = [
        "good", "Đã sửa chữa, kè bảo vệ năm 2023"]
    m.loc[at("KH", "168/1", "168/2"), ["built_date", "condition", "notes"]] = [
        "2023-12-15", "good", "Cọc dấu cắm tăng dày năm 2023"]


def check_markers(m, lines, provinces, gates):
    """The seed facts and the geometric rules, asserted."""
    key = m.border + "-" + m.number
    assert not key.duplicated().any(), "duplicate (border, number)"
    assert (provinces.nearest(to_metric(to_wgs84(m.geometry.values))) == m.province).all()
    assert placement_ok(m, lines).all(), "a marker is off the line or on the wrong side"
    for border in BORDERS:  # numbers increase monotonically along the numbering direction
        x = m[(m.border == border) & (m.part <= 1)].sort_values(["main", "sub"])
        ch = lines[border].locate(x.geometry.values)[0]
        assert np.all(np.diff(-ch if border == "CN" else ch) > 0), f"{border}: order"
    la = m[m.border == "LA"]
    sl = la[la.province == "Sơn La"]
    sl_pos = sl[sl.kind != "stake"].position.unique()
    assert len(sl_pos) == 125 and set(sl_pos) == {str(k) for k in range(163, 288)}, "Sơn La"
    assert (sl.construction_status == "built").all() and (sl.kind == "stake").sum() == 12
    assert pd.to_datetime(sl[sl.kind != "stake"].built_date).dt.year.between(2011, 2015).all()
    assert set(sl[sl.kind == "large"].number) == {"207", "255"}
    assert {"222(1)", "222(2)", "163/1", "206/1"} <= set(sl.number)
    assert set(sl[sl.arrangement == "double"].number) == {"222(1)", "222(2)"}
    assert (la[la["main"] <= 162].province == "Điện Biên").all(), "Điện Biên must hold 1..162"
    lsap = gates[gates.slug == "long-sap"].iloc[0]
    m255 = la[la.number == "255"].iloc[0]
    assert abs(lines["LA"].locate([m255.geometry])[0][0] - lsap.ch) < 1.0
    cand = la[la.kind != "stake"]
    assert cand.number.iloc[shapely.distance(cand.geometry.values, lsap.geometry).argmin()] \
        == "255", "Lóng Sập must stand at marker 255"
    cn = m[m.border == "CN"]
    ls = {"1088/2", "1089", "1119", "1120", "1139", "1140"}
    assert ls <= set(cn.number) and (cn[cn.number.isin(ls)].province == "Lạng Sơn").all()
    ch = dict(zip(cn.number, lines["CN"].locate(cn.geometry.values)[0]))
    hn = gates[gates.slug == "huu-nghi"].ch.iloc[0]
    assert ch["1120"] < hn < ch["1119"], "Hữu Nghị must lie between 1119 and 1120"
    kh = m[m.border == "KH"]
    tn = {"96", "118", "150", "152/2", "168", "168/1", "168/2", "171"}
    tn |= {f"147/{k}" for k in range(1, 7)}
    assert tn <= set(kh.number) and (kh[kh.number.isin(tn)].province == "Tây Ninh").all()
    tri = m[m.tri_border]
    assert sorted(tri.border + "-" + tri.number) == ["CN-0", "KH-1", "LA-1", "LA-792"]
    for a, b in (("CN-0", "LA-1"), ("LA-792", "KH-1")):
        assert shapely.distance(m.geometry[key == a].iloc[0], m.geometry[key == b].iloc[0]) < 5


# -- works and incidents ---------------------------------------------------------------------

def build_works(m, provinces):
    geom = dict(zip(m.border + "-" + m.number, m.geometry))
    recs, geoms = [], []
    for i, w in enumerate(WORKS, 1):
        title, kind, border, a, b, province, ps, pe, as_, ae, bp, bd, contractor, notes = w
        pa = geom.get(f"{border}-{a}", geom.get(f"{border}-{a}(2)"))  # a double: VN's part
        geoms.append(pa if b is None else shapely.linestrings(
            shapely.get_coordinates([pa, geom[f"{border}-{b}"]])))
        recs.append(dict(id=f"W-{i:06d}", title=title, kind=kind, border=border, marker_from=a,
                         marker_to=b, province=province, planned_start=ps, planned_end=pe,
                         actual_start=as_, actual_end=ae, budget_planned_vnd=bp,
                         budget_disbursed_vnd=bd, contractor=contractor, notes=notes))
        if a in ("255", "222"):  # stalled: past the planned end, not finished
            assert ae is None and pe < "2025-01-01"
    geoms = np.array(geoms, dtype=object)
    assert [r["province"] for r in recs] == list(provinces.nearest(geoms)), "work province"
    return recs, geoms


def build_incidents(rng, lines, provinces, m, n=398):
    """~400 synthetic incidents within 5 km of the line, mostly on the Vietnamese side."""
    kinds = list(INCIDENT_KINDS)
    lengths = np.array([lines[b].length for b in BORDERS])
    border = rng.choice(BORDERS, n, p=lengths / lengths.sum()).astype(object)
    kind = rng.choice(kinds, n, p=[v[0] for v in INCIDENT_KINDS.values()]).astype(object)
    left = rng.uniform(size=n) < 0.85
    dist = np.where(left, np.minimum(20 + rng.exponential(700, n), 4800),
                    -rng.uniform(20, 1500, n))
    geoms = np.empty(n, dtype=object)
    for b in BORDERS:
        sel = border == b
        geoms[sel] = lines[b].point(rng.uniform(0, lines[b].length, sel.sum()), dist[sel])
    poly = (kind == "encroachment") & (rng.uniform(size=n) < 0.45)  # parcels 50-200 m across
    geoms[poly] = shapely.buffer(geoms[poly], rng.uniform(25, 100, poly.sum()), quad_segs=2)
    reported = np.array(random_dates(rng, "2015-01-01", "2026-10-31", n), dtype=object)
    # Lạng Sơn, 9 months of 2020: exactly the two violations of the seed report
    prov = provinces.nearest(to_metric(to_wgs84(geoms)))
    clash = (prov == "Lạng Sơn") & (kind == "construction") & (reported >= "2020-01-01") & \
        (reported <= "2020-09-30")
    reported[clash] = [s.replace("2020-", "2021-") for s in reported[clash]]
    cn = m[(m.border == "CN") & (m.part <= 1)].set_index("position")
    extra = [lines["CN"].point(cn.ch[k], off)[0] for k, off, _, _ in LANG_SON_2020]
    geoms = np.concatenate([geoms, np.array(extra, dtype=object)])
    border = np.concatenate([border, ["CN", "CN"]])
    kind = np.concatenate([kind, ["construction", "construction"]])
    reported = np.concatenate([reported, [r[2] for r in LANG_SON_2020]])
    year = np.array([int(s[:4]) for s in reported])
    p = np.where(year[:, None] >= 2025, [0.3, 0.3, 0.25, 0.15], np.where(
        year[:, None] >= 2023, [0.08, 0.12, 0.2, 0.6], [0.03, 0.05, 0.07, 0.85]))
    status = np.array([str(rng.choice(STATUSES, p=row)) for row in p], dtype=object)
    status[-2:] = "resolved"
    occurred = [None if rng.uniform() < 0.08 else
                (date.fromisoformat(r) - timedelta(days=int(rng.integers(0, 45)))).isoformat()
                for r in reported]
    cands = {b: m[(m.border == b) & (m.kind != "stake")] for b in BORDERS}
    near = [cands[b].position.iloc[shapely.distance(cands[b].geometry.values, g).argmin()]
            for g, b in zip(geoms, border)]
    desc = [INCIDENT_KINDS[k][1].format(
        m=mk, n=int(rng.integers(2, 15)), goods=GOODS[rng.integers(len(GOODS))],
        a=int(round(shapely.area(g), -1)) or int(rng.integers(2, 30)) * 100,
        damage=DAMAGE[rng.integers(len(DAMAGE))], other=OTHER[rng.integers(len(OTHER))])
        for k, mk, g in zip(kind, near, geoms)]
    desc[-2:] = [r[3] for r in LANG_SON_2020]
    df = pd.DataFrame(dict(kind=kind, status=status, border=border, occurred_date=occurred,
                           reported_date=reported, description=desc))
    df["province"] = provinces.nearest(to_metric(to_wgs84(geoms)))
    df["ch"] = [lines[b].locate([g])[0][0] for g, b in zip(geoms, border)]
    df["geometry"] = geoms
    df = df.sort_values(["reported_date", "border", "ch"], ignore_index=True)
    df.insert(0, "id", [f"V-{i:06d}" for i in range(1, len(df) + 1)])
    for b in BORDERS:
        sel = (df.border == b).to_numpy()
        assert (lines[b].locate(df.geometry.values[sel])[1] <= 5000).all(), "incident > 5 km"
    assert set(df.kind) == set(kinds) and set(df.status) == set(STATUSES)
    ls20 = df[(df.province == "Lạng Sơn") & (df.kind == "construction")
              & df.reported_date.between("2020-01-01", "2020-09-30")]
    assert len(ls20) == 2 and (ls20.status == "resolved").all()
    assert (df[df.reported_date >= "2025-01-01"].status == "resolved").mean() < 0.3
    return df.drop(columns=["ch", "geometry"]).to_dict("records"), df.geometry.to_numpy()


# -- output ----------------------------------------------------------------------------------

def plain(v):
    """A JSON-ready Python value (None for missing)."""
    if v is None or v == "" or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def write_layer(kind, records, geoms):
    """Validate ``records`` (dicts of schema columns) with lon/lat geometries, then write."""
    cols = SCHEMAS[kind].columns
    records = [{c: plain(r.get(c)) for c in cols} for r in records]
    if records:
        gdf = gpd.GeoDataFrame(pd.DataFrame(records, columns=cols), geometry=list(geoms),
                               crs=WGS84)
        validate(kind, gdf, borders=set(BORDERS), what=f"{kind} (demo build)")
    feats = [json.dumps({"type": "Feature", "properties": r,
                         "geometry": shapely.geometry.mapping(g)},
                        ensure_ascii=False, sort_keys=True, separators=(",", ":"))
             for r, g in zip(records, geoms)]
    path = HERE / f"{kind}.geojson"
    path.write_text('{"type":"FeatureCollection","name":"%s","features":[\n%s\n]}\n'
                    % (kind, ",\n".join(feats)), encoding="utf-8")
    size = path.stat().st_size
    assert size < (2 if kind == "provinces" else 3) * 1024 ** 2, f"{path.name} too large"
    return size


def main():
    rng = np.random.default_rng(SEED)
    src_lines, prov = load_sources()
    provinces = Provinces(prov)
    lines = {b: Line(g) for b, g in zip(src_lines.index, to_metric(src_lines.geometry.values))}
    runs = {b: provinces.runs(lines[b]) for b in BORDERS}
    gates = place_gates(rng, lines, provinces)
    m = build_markers(rng, lines, provinces, runs, gates)
    check_markers(m, lines, provinces, gates)
    works, work_geoms = build_works(m, provinces)
    incidents, incident_geoms = build_incidents(rng, lines, provinces, m)

    sizes = {}
    src = src_lines.geometry.values
    same = shapely.transform(src, lambda xy: np.round(xy, 7))
    assert all(np.array_equal(shapely.get_coordinates(a), shapely.get_coordinates(b))
               for a, b in zip(src, same)), "the boundary lines must stay unchanged"
    sizes["boundary"] = write_layer("boundary", [
        dict(border=b, name_vi=r.name_vi, name_en=r.name_en, home_side="left",
             official_length_km=OFFICIAL_KM[b]) for b, r in src_lines.iterrows()], same)
    sizes["provinces"] = write_layer("provinces", prov.to_dict("records"), prov.geometry.values)
    m = m.sort_values(["border", "main", "sub", "part"], key=lambda s: s.map(BORDERS.index)
                      if s.name == "border" else s, ignore_index=True)
    m["id"] = m.border + "-" + m.number
    m["part"] = [int(p) if p else None for p in m.part]
    sizes["markers"] = write_layer("markers", m.to_dict("records"), to_wgs84(m.geometry.values))
    sizes["gates"] = write_layer("gates", gates.to_dict("records"),
                                 to_wgs84(gates.geometry.values))
    sizes["works"] = write_layer("works", works, to_wgs84(work_geoms))
    sizes["incidents"] = write_layer("incidents", incidents, to_wgs84(incident_geoms))
    sizes["inspections"] = write_layer("inspections", [], [])
    summary(m, gates, works, incidents, sizes, runs)


def summary(m, gates, works, incidents, sizes, runs):
    print("Wrote (bytes): " + ", ".join(f"{k}.geojson {v:,}" for k, v in sizes.items()))
    for b in BORDERS:
        x = m[m.border == b]
        st = x[x.kind == "stake"]
        print(f"{b}: {len(x) - len(st)} markers at {x[x.kind != 'stake'].position.nunique()} "
              f"positions + {len(st)} stakes at {st.position.nunique()} positions; "
              f"{x[x.arrangement == 'double'].pos_id.nunique()} double, "
              f"{x[x.arrangement == 'triple'].pos_id.nunique()} triple; "
              f"{(x.construction_status != 'built').sum()} not built")
    for b, p in (("LA", "Điện Biên"), ("LA", "Sơn La"), ("CN", "Lạng Sơn"), ("KH", "Tây Ninh")):
        x = m[(m.border == b) & (m.province == p)]
        a, z = interval(runs[b], p)
        g = gates[(gates.border == b) & (gates.province == p)]
        print(f"  {p} ({b}, {(z - a) / 1000:.1f} km of line): "
              f"{x[x.kind != 'stake'].position.nunique()} marker positions + "
              f"{(x.kind == 'stake').sum()} stakes ({len(x)} rows), numbers {x.number.iloc[0]}"
              f"...{x.number.iloc[-1]}; {len(g)} gates ({', '.join(g.name)})")
    status = pd.Series([r["status"] for r in incidents]).value_counts()
    print(f"gates: {len(gates)} {gates.border.value_counts().to_dict()}; works: {len(works)}; "
          f"incidents: {len(incidents)} {status.to_dict()}; inspections: 0")


if __name__ == "__main__":
    main()
