#!/usr/bin/env python3
"""Build the bienmoc demo dataset from the real border lines and province polygons.

Reads only ``sources/`` next to this file and writes the demo layers next to it as GeoJSON
(EPSG:4326): boundary, provinces, markers, gates, works, incidents, inspections, work_progress
(no geometry) and resurveys. README.md says which parts are real and which are illustrative,
and which statuses hold as of the demo's "today" (AS_OF, 2026-11-24). The build is
deterministic (fixed seeds): two runs give byte-identical files. Run from any folder::

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
    from bienmoc.model.schema import SCHEMAS, empty_layer, label, validate
except ImportError:  # a source tree without bienmoc installed
    sys.path.insert(0, str(HERE.parents[1] / "src"))
    from bienmoc.model.schema import SCHEMAS, empty_layer, label, validate
try:  # the reference checks bienmoc applies when records are added (work, marker, corrects)
    from bienmoc.records.recording import reference_problems
except ImportError:
    reference_problems = None

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
     "1088/2", "1089", "Lạng Sơn", "2025-01-15", "2027-03-31", "2025-02-20", None,
     18e9, 11.5e9, "Công ty CP Giao thông Lạng Sơn", None),
    ("Đấu nối giao thông đường bộ khu vực mốc 1139–1140", "road", "CN", "1139", "1140",
     "Lạng Sơn", "2024-10-01", "2027-06-30", "2024-12-10", None, 26e9, 9.6e9,
     "Công ty CP Giao thông Lạng Sơn", None),
    ("Mở rộng đường chuyên dụng vận tải hàng hóa khu vực mốc 1119–1120 (cửa khẩu quốc tế "
     "Hữu Nghị)", "road", "CN", "1119", "1120", "Lạng Sơn", "2024-06-01", "2027-06-30",
     "2024-07-15", None, 45e9, 36e9, "Công ty CP Đầu tư Xây dựng Đồng Đăng", None),
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
     "2027-03-01", "2027-12-31", None, None, 3.2e9, 0.0, None,
     "Dự kiến khởi công năm 2027"),
    ("Thiết kế lại kiến trúc cảnh quan mốc 118", "landscape", "KH", "118", None, "Tây Ninh",
     "2023-03-01", "2023-12-31", "2023-05-15", "2023-12-20", 3.0e9, 3.0e9,
     "Công ty CP Kiến trúc Miền Nam", None),
    ("Thiết kế lại kiến trúc cảnh quan mốc 150", "landscape", "KH", "150", None, "Tây Ninh",
     "2025-03-01", "2027-03-31", "2025-04-15", None, 3.1e9, 1.9e9,
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


# -- progress updates, inspections and resurveys ----------------------------------------------
# All illustrative. The statuses the README states hold as of AS_OF (the demo's "today").

AS_OF = "2026-11-24"
LAST_RECORD = "2026-11-20"  # no record is dated later
STALL_DAYS = 180
CYCLE_MONTHS = {"large": 12, "medium": 24, "small": 24, "stake": 24}

# Progress series per work: first update, last update (None: the actual end, at 100 %), percent
# at the last update, days between updates, and the status bienmoc derives as of AS_OF.
PROGRESS = {
    "W-000001": ("2015-10-15", None, 100, 45, "completed"),    # stake 163/1
    "W-000002": ("2015-10-30", None, 100, 45, "completed"),    # stake 206/1
    "W-000003": ("2016-06-15", None, 100, 90, "completed"),    # landscape 207
    "W-000004": ("2016-05-05", "2023-03-20", 48, 150, "stalled"),   # landscape 255
    "W-000005": ("2016-11-10", "2022-08-10", 37, 150, "stalled"),   # embankment 222
    "W-000006": ("2025-03-20", "2026-11-10", 68, 40, "in_progress"),  # road 1088/2-1089
    "W-000007": ("2025-01-08", "2026-04-28", 41, 40, "stalled"),  # road 1139-1140: idle
    "W-000008": ("2024-08-15", "2026-11-05", 84, 40, "in_progress"),  # road 1119-1120
    "W-000009": ("2023-04-05", None, 100, 30, "completed"),    # repair 96
    "W-000010": ("2023-04-15", None, 100, 30, "completed"),    # repair 147/6
    "W-000011": ("2023-05-02", None, 100, 30, "completed"),    # repair 152/2
    "W-000012": (None, None, 0, 0, "not_started"),             # landscape 171 (2027)
    "W-000013": ("2023-06-10", None, 100, 40, "completed"),    # landscape 118
    "W-000014": ("2025-05-15", "2026-10-15", 62, 45, "in_progress"),  # landscape 150
    "W-000015": ("2023-06-05", None, 100, 45, "completed"),    # stakes 168-168/2
}
STAGE_NOTES = {
    "reference_stake": ["Khảo sát, xác định vị trí cọc dấu", "Vận chuyển vật liệu lên vị trí",
                        "Đổ bê tông cọc dấu", "Hoàn thiện, sơn số hiệu"],
    "landscape": ["Giải phóng mặt bằng, san gạt", "Thi công móng, tường bao",
                  "Xây dựng sân, bậc lên xuống", "Hoàn thiện, trồng cây xanh"],
    "embankment": ["Đắp đê quây, xử lý nền", "Thi công chân kè",
                   "Thi công thân kè, đổ bê tông mái kè", "Hoàn thiện đỉnh kè"],
    "road": ["San nền, làm nền đường", "Thi công cống thoát nước",
             "Thi công móng cấp phối đá dăm", "Rải thảm bê tông nhựa, lắp biển báo"],
    "repair": ["Tháo dỡ phần hư hỏng", "Gia cố chân đế mốc", "Thi công kè bảo vệ",
               "Sơn lại mốc, hoàn thiện"],
}
STALL_NOTES = {"W-000004": "Tạm dừng thi công do chưa bố trí đủ vốn",
               "W-000005": "Tạm dừng thi công; bờ sông tiếp tục sạt lở"}


def vn_date(iso):
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"


def shift(iso, days):
    return (date.fromisoformat(iso) + timedelta(days=int(days))).isoformat()


def build_progress(rng, works):
    """Progress updates of each work (append-only; two corrections)."""
    recs = []
    for w in works:
        first, last, pct_end, step, _ = PROGRESS[w["id"]]
        if first is None:
            continue
        last = last or w["actual_end"]
        d0, d1 = date.fromisoformat(first), date.fromisoformat(last)
        k = max(1, round((d1 - d0).days / step))
        days = np.linspace(0, (d1 - d0).days, k + 1)
        days[1:-1] += rng.uniform(-step / 5, step / 5, k - 1)
        t = days / days[-1]
        if pct_end == 100:
            curve = 3 * t ** 2 - 2 * t ** 3
        elif w["id"] in STALL_NOTES:  # work slowed down, then stopped
            curve = 1 - (1 - t) ** 2.5
        else:
            curve = 0.1 + 0.9 * t
        pct = np.maximum.accumulate(np.clip(np.round(pct_end * curve), 2, 99))
        pct[-1] = pct_end
        disb = np.round(w["budget_disbursed_vnd"] * (pct / pct_end) ** 1.2, -6)
        for i, (dd, p, b) in enumerate(zip(days, pct, disb)):
            iso = (d0 + timedelta(days=int(round(dd)))).isoformat()
            if p == 100:
                note = "Nghiệm thu hoàn thành, bàn giao đưa vào sử dụng"
            elif i == 0:
                note = "Khởi công; " + STAGE_NOTES[w["kind"]][0].lower()
            elif i == len(days) - 1 and w["id"] in STALL_NOTES:
                note = STALL_NOTES[w["id"]]
            else:
                note = STAGE_NOTES[w["kind"]][min(int(p // 25), 3)]
            keep_b = i in (0, len(days) - 1) or rng.uniform() < 0.75
            recs.append(dict(work_id=w["id"], date=iso, percent=float(p),
                             disbursed_vnd=float(b) if keep_b else None, note=note,
                             corrects=None, ref=None, curve_vnd=float(b)))
    # corrections: a mistyped percent (1119-1120) and a disbursement typed ten times too big
    # (embankment 222), each fixed by a new record a few days later
    for wid, i, days, fix in (("W-000008", 4, 3, "percent"), ("W-000005", 3, 4, "disbursed")):
        rows = [r for r in recs if r["work_id"] == wid]
        orig, nxt = rows[i], rows[i + 1]
        fixed = dict(orig, date=shift(orig["date"], days), ref=id(orig))
        assert fixed["date"] < nxt["date"]
        if fix == "percent":
            true = int(orig["percent"])
            typo = int(str(true)[::-1]) if str(true)[::-1] != str(true) else true + 30
            assert typo > nxt["percent"]
            orig["percent"] = float(typo)
            fixed["note"] = (f"Đính chính số liệu ngày {vn_date(orig['date'])}: nhập nhầm "
                             f"{typo}%, đúng là {true}%")
        else:
            fixed["disbursed_vnd"] = orig["curve_vnd"]
            orig["disbursed_vnd"] = 10 * orig["curve_vnd"]
            fixed["note"] = (f"Đính chính số liệu ngày {vn_date(orig['date'])}: nhập nhầm lũy "
                             "kế giải ngân (thừa một chữ số 0)")
        recs.append(fixed)
    recs.sort(key=lambda r: (r["date"], r["work_id"]))
    ids = {}
    for i, r in enumerate(recs, 1):
        r["id"] = f"P-{i:06d}"
        ids[id(r)] = r["id"]
    for r in recs:
        r["corrects"] = ids[r.pop("ref")] if r["ref"] else None
        del r["curve_vnd"]
    check_progress(works, recs)
    return recs


def derived_status(w, updates, as_of=AS_OF, stall_days=STALL_DAYS):
    """The status rule bienmoc applies (see README), on the raw records."""
    ups = [u for u in updates if u["date"] <= as_of]
    last = ups[-1] if ups else None
    if (w["actual_end"] and w["actual_end"] <= as_of) or any(u["percent"] >= 100 for u in ups):
        return "completed"
    started = bool(w["actual_start"] and w["actual_start"] <= as_of) or any(
        u["percent"] > 0 for u in ups)
    activity = last["date"] if last else (w["actual_start"] if started else None)
    idle = (date.fromisoformat(as_of) - date.fromisoformat(activity)).days if activity else 0
    if (w["planned_end"] and as_of > w["planned_end"]) or (started and idle >= stall_days):
        return "stalled"
    return "in_progress" if started else "not_started"


def check_progress(works, recs):
    """Works' dates and budgets agree with their progress series; the seed statuses hold."""
    replaced = {r["corrects"] for r in recs if r["corrects"]}
    assert len(replaced) == 2 and all(r["date"] <= LAST_RECORD for r in recs)
    for w in works:
        ups = [r for r in recs if r["work_id"] == w["id"] and r["id"] not in replaced]
        raw = [r for r in recs if r["work_id"] == w["id"]]
        if not ups:
            assert w["actual_start"] is None and w["actual_end"] is None
            assert w["planned_start"] > AS_OF and not w["budget_disbursed_vnd"]
        else:
            assert w["actual_start"] <= min(r["date"] for r in raw), w["id"]
            pct = [u["percent"] for u in ups]
            assert pct == sorted(pct) and 0 < pct[0] and pct[-1] <= 100, w["id"]
            b = [u["disbursed_vnd"] for u in ups if u["disbursed_vnd"] is not None]
            assert b == sorted(b) and b[-1] == w["budget_disbursed_vnd"] <= \
                w["budget_planned_vnd"], w["id"]
            if pct[-1] == 100:  # completed: the 100 % update is the last, on the actual end
                assert w["actual_end"] == ups[-1]["date"] and pct.count(100) == 1, w["id"]
                assert w["budget_disbursed_vnd"] == w["budget_planned_vnd"]
            else:
                assert w["actual_end"] is None, w["id"]
        assert derived_status(w, ups) == PROGRESS[w["id"]][4], w["id"]
    by = {(w["border"], w["marker_from"], w["kind"]): (w, [r for r in recs if r["work_id"] ==
                                                           w["id"] and r["id"] not in replaced])
          for w in works}
    for a, kind in (("255", "landscape"), ("222", "embankment")):  # Sơn La: stalled long ago
        w, ups = by[("LA", a, kind)]
        assert w["planned_end"] < "2019-01-01" and ups[-1]["date"] < "2024-01-01"
        assert ups[-1]["percent"] < 100 and w["actual_end"] is None
    for a in ("96", "147/6", "152/2", "168"):  # Tây Ninh 2023: done within 2023
        w, ups = by[("KH", a, "reference_stake" if a == "168" else "repair")]
        assert w["actual_end"][:4] == "2023" == ups[0]["date"][:4] == ups[-1]["date"][:4]
    tn = {a: derived_status(*by[("KH", a, "landscape")]) for a in ("171", "118", "150")}
    assert sorted(tn.values()) == ["completed", "in_progress", "not_started"], tn
    assert by[("KH", "150", "landscape")][1][-1]["date"] >= "2026-01-01"
    ls = [by[("CN", a, "road")] for a in ("1088/2", "1139", "1119")]
    assert all(len([u for u in ups if u["date"] >= "2025-01-01"]) >= 8 for _, ups in ls)
    idle = [w["id"] for w, ups in ls if (date.fromisoformat(AS_OF) - date.fromisoformat(
        ups[-1]["date"])).days >= STALL_DAYS]
    assert idle == ["W-000007"] and all(w["planned_end"] > AS_OF for w, _ in ls)


# Inspections. Never inspected: VN-Cambodia main numbers 31-44 and the VN-Laos stakes from
# Quảng Trị southwards (main number >= 612), plus a few random patrol sections.
NEVER_KH = (31, 44)
NEVER_LA_STAKES = 612
N_DISPLACED = 15
NEIGHBOUR = {"CN": "Trung Quốc", "LA": "Lào", "KH": "Campuchia"}
# Markers with a fixed history: border, number, date, team, condition, notes.
SPECIAL_INSPECTIONS = [
    ("LA", "222(1)", "2024-05-14", "joint", "good", "Kiểm tra song phương với phía Lào"),
    ("LA", "222(2)", "2024-05-14", "joint", "damaged", "Bờ sông sạt lở, chân mốc bị xói"),
    ("LA", "222(1)", "2026-06-09", "joint", "good", None),
    ("LA", "222(2)", "2026-06-09", "joint", "damaged",
     "Bờ sông tiếp tục sạt lở; kè bảo vệ mốc thi công dở dang"),
    ("KH", "96", "2022-08-16", "unilateral", "damaged",
     "Chân đế bị xói lở, nứt bệ mốc; đề nghị sửa chữa, kè bảo vệ"),
    ("KH", "147/6", "2022-08-17", "unilateral", "damaged",
     "Bệ mốc bị nứt, mất sơn số hiệu; đề nghị sửa chữa"),
    ("KH", "152/2", "2022-08-19", "unilateral", "damaged",
     "Chân đế bị xói lở do nước chảy xiết; đề nghị kè bảo vệ"),
    ("KH", "147/6", "2023-10-04", "joint", "good", "Kiểm tra sau sửa chữa, kè bảo vệ: mốc tốt"),
    ("KH", "96", "2023-10-27", "joint", "good", "Kiểm tra sau sửa chữa, kè bảo vệ: mốc tốt"),
    ("KH", "152/2", "2023-11-22", "joint", "good", "Kiểm tra sau sửa chữa, kè bảo vệ: mốc tốt"),
    ("KH", "168/1", "2024-01-09", "joint", "good", "Kiểm tra cọc dấu cắm tăng dày năm 2023"),
    ("KH", "168/2", "2024-01-09", "joint", "good", "Kiểm tra cọc dấu cắm tăng dày năm 2023"),
    ("KH", "96", "2025-09-09", "unilateral", "good", None),
    ("KH", "147/6", "2025-09-10", "unilateral", "good", None),
    ("KH", "152/2", "2025-09-12", "unilateral", "good", None),
    ("KH", "168/1", "2026-03-17", "unilateral", "good", None),
    ("KH", "168/2", "2026-03-17", "unilateral", "good", None),
]
# Large markers of Sơn La: 255 (Lóng Sập gate) inspected within 12 months, 207 overdue.
LARGE_LAST = {("LA", "255"): ("2026-10-22", "joint"), ("LA", "207"): ("2025-09-18",
                                                                      "unilateral")}
# Registered positions corrected after a joint survey: border, number, date of the inspection
# that found the discrepancy, date of the resurvey, date of a later inspection, metres between
# the old and the new position, reason (with {d}: that distance), surveyor.
RESURVEYS = [
    ("CN", "126", "2019-10-08", "2020-06-17", "2024-10-22", 9.0,
     "Kiểm tra song phương Việt Nam – Trung Quốc phát hiện tọa độ đăng ký lệch {d} m so với vị "
     "trí thực địa của mốc; hai bên đo đạc lại, thống nhất tọa độ mới",
     "Tổ đo đạc liên hợp Việt Nam – Trung Quốc"),
    ("LA", "238", "2021-05-12", "2021-11-16", "2025-12-03", 13.5,
     "Tọa độ đăng ký sai lệch {d} m do sai số định vị vệ tinh ở địa hình núi cao, bị che khuất; "
     "đo đạc lại trong đợt kiểm tra song phương Việt Nam – Lào",
     "Tổ đo đạc liên hợp Việt Nam – Lào (Sơn La – Hủa Phăn)"),
    ("LA", "271", "2024-09-05", "2025-03-11", "2026-04-21", 7.2,
     "Tọa độ đăng ký sai lệch {d} m (sai số đo GNSS khi xây dựng mốc); đo đạc lại trong đợt "
     "kiểm tra song phương Việt Nam – Lào",
     "Tổ đo đạc liên hợp Việt Nam – Lào (Sơn La – Hủa Phăn)"),
]
GOOD_NOTES = ["Mốc nguyên vẹn, số hiệu rõ", "Đã phát quang quanh mốc", "Đã sơn lại số hiệu mốc",
              "Đường ra mốc bị cây cối che lấp"]
FOUND_NOTES = {
    "damaged": ["Nứt chân đế", "Bong tróc sơn, mờ chữ số hiệu", "Sứt mẻ cạnh mốc",
                "Chân mốc bị xói lở", "Mốc bị nghiêng nhẹ"],
    "destroyed": ["Mốc bị phá hủy, chỉ còn bệ mốc", "Mốc bị gãy đổ do sạt lở"],
    "missing": ["Không tìm thấy mốc tại vị trí đăng ký", "Mốc bị mất, nghi bị đào trộm"],
}
DISPLACE_CAUSES = ["do sạt lở đất", "do lũ cuốn", "do phương tiện va chạm", "chưa rõ nguyên nhân"]


def metres(a, b):
    """Distance (m) between lon/lat points, in the build's metric CRS."""
    return shapely.distance(np.asarray(to_metric(np.asarray(a, dtype=object)), dtype=object),
                            np.asarray(to_metric(np.asarray(b, dtype=object)), dtype=object))


def offset_points(rng, pts, dist):
    """Lon/lat points ``dist`` metres from ``pts`` in random directions (rounded as written)."""
    ang = rng.uniform(0, 2 * np.pi, len(pts))
    xy = shapely.get_coordinates(np.asarray(to_metric(np.asarray(pts, dtype=object)),
                                            dtype=object))
    xy += np.column_stack([np.cos(ang), np.sin(ang)]) * np.asarray(dist)[:, None]
    return to_wgs84(shapely.points(xy))


def months_later(iso, months):
    return (pd.Timestamp(iso) + pd.DateOffset(months=months)).date().isoformat()


def build_inspections(rng, m, wgs, works):
    """Inspection records (patrols by section, yearly checks of large markers, fixed histories),
    resurveys, and each marker's condition = its latest inspection's finding."""
    key = (m.border + "-" + m.number).to_numpy()
    row_of = {k: i for i, k in enumerate(key)}
    built = (m.construction_status == "built").to_numpy()
    bdate = m.built_date.to_numpy()
    recs = []

    def add(i, day, team, cond=None, notes=None, gnss=True, fixed=False):
        assert built[i] and day >= bdate[i] and "2016-01-01" <= day <= LAST_RECORD
        recs.append(dict(row=i, date=day, team=team, condition=cond, notes=notes, gnss=gnss,
                         fixed=fixed, ref=None, point=None, photos=0))
        return recs[-1]

    special = {row_of[f"{b}-{n}"] for b, n, *_ in SPECIAL_INSPECTIONS} | {
        row_of[f"{b}-{n}"] for b, n, *_ in RESURVEYS}
    special_pos = set(m.pos_id.to_numpy()[list(special)])
    large_pos = set(m.pos_id[m.kind == "large"])
    never = ((m.border == "KH") & m["main"].between(*NEVER_KH)).to_numpy() | (
        (m.border == "LA") & m.stake & (m["main"] >= NEVER_LA_STAKES)).to_numpy()
    for b, n, day, team, cond, notes in SPECIAL_INSPECTIONS:
        add(row_of[f"{b}-{n}"], day, team, cond, notes, fixed=True)

    # patrols: consecutive positions in sections of 5-14; a patrol covers ~6 positions a day
    d = date.fromisoformat(AS_OF)
    eligible = built & ~never & ~m.pos_id.isin(special_pos | large_pos).to_numpy()
    lai_chau = (m.province == "Lai Châu").to_numpy()
    for border in BORDERS:
        rows = np.flatnonzero(eligible & (m.border == border).to_numpy())
        pos = pd.unique(m.pos_id.to_numpy()[rows])
        rows_at = pd.Series(rows).groupby(m.pos_id.to_numpy()[rows]).apply(list)
        start = 0
        while start < len(pos):
            size = int(rng.integers(5, 15))
            section, start = pos[start:start + size], start + size
            cat = rng.choice(["current", "overdue", "never"], p=[0.72, 0.25, 0.03])
            if cat == "never" and not m.protect.to_numpy()[np.concatenate(
                    [rows_at[p] for p in section])].any():  # seed markers are inspected
                continue
            lag = rng.uniform(7, 725) if cat == "current" else rng.uniform(740, 1900)
            days = [d - timedelta(days=int(lag))]
            for _ in range(int(rng.choice(3, p=[0.5, 0.35, 0.15]))):
                days.append(days[-1] - timedelta(days=int(rng.uniform(270, 820))))
            joint_p = 0.6 if lai_chau[rows_at[section[0]][0]] else (
                0.15 if border == "KH" else 0.3)
            for day0 in days:
                team = "joint" if rng.uniform() < joint_p else "unilateral"
                gnss = rng.uniform() < (0.9 if team == "joint" else 0.6)
                for j, p in enumerate(section):
                    day = (day0 + timedelta(days=j // 6)).isoformat()
                    for i in rows_at[p]:
                        if "2016-01-01" <= day and day >= shift(bdate[i], 30):
                            add(i, day, team, gnss=gnss)
    # large markers: a yearly check, mostly within the last 12 months
    for p in sorted(large_pos):
        rows = np.flatnonzero((m.pos_id == p).to_numpy() & built)
        if not len(rows):
            continue
        fixed = LARGE_LAST.get(tuple(m[["border", "number"]].iloc[rows[0]]))
        if fixed:
            day, team0 = date.fromisoformat(fixed[0]), fixed[1]
        else:
            lag = rng.uniform(10, 350) if rng.uniform() < 0.8 else rng.uniform(380, 700)
            day, team0 = d - timedelta(days=int(lag)), None
        first = max(date(int(rng.integers(2016, 2022)), 1, 15),
                    date.fromisoformat(shift(max(bdate[rows]), 30)))
        k = 0
        while day >= first:
            team = team0 if (k == 0 and team0) else (
                "joint" if rng.uniform() < 0.5 else "unilateral")
            for i in rows:
                add(i, day.isoformat(), team, gnss=rng.uniform() < 0.9)
            day -= timedelta(days=int(rng.uniform(300, 400)))
            k += 1
    # resurveyed markers: the inspection that found the discrepancy, then a later one
    for b, n, found, _, later, dist, *_ in RESURVEYS:
        i = row_of[f"{b}-{n}"]
        add(i, found, "joint" if b == "CN" else "unilateral", "good", None, fixed=True)
        add(i, later, "joint", "good", None, fixed=True)

    # findings: the latest one keeps the registered condition (mostly), earlier ones are good
    orig = m.condition.to_numpy()
    order = sorted(range(len(recs)), key=lambda k: (recs[k]["date"], k))
    latest = {}
    for k in order:
        latest[recs[k]["row"]] = k
    cands = sorted(i for i, k in latest.items() if orig[i] == "displaced" and not
                   recs[k]["fixed"] and recs[k]["date"] >= "2019-01-01")
    displaced = set(rng.choice(cands, N_DISPLACED, replace=False).tolist())
    for k, r in enumerate(recs):
        if r["fixed"]:
            continue
        i = r["row"]
        if latest[i] == k:
            o = orig[i]
            r["condition"] = ("displaced" if i in displaced else "damaged" if o == "displaced"
                              else o if o != "unknown" else
                              str(rng.choice(["good", "damaged"], p=[0.9, 0.1])))
            if i in displaced:
                r["gnss"] = True
        else:
            bad = orig[i] in ("destroyed", "missing")
            r["condition"] = "damaged" if rng.uniform() < (0.4 if bad else 0.05) else "good"
    # measured positions: within 0.5 m of the registered point, or 1.5-15 m when displaced
    meas = [k for k, r in enumerate(recs) if r["gnss"] and r["condition"] in (
        "good", "damaged", "displaced")]
    dist = np.array([rng.uniform(1.6, 14.8) if recs[k]["condition"] == "displaced"
                     else rng.uniform(0, 0.49) for k in meas])
    pts = offset_points(rng, wgs[[recs[k]["row"] for k in meas]], dist)
    for k, p in zip(meas, pts):
        recs[k]["point"] = p
    # corrections: wrong condition typed, fixed by a new record the next day
    later = {}  # record index -> the marker's next record index
    for k in order:
        i = recs[k]["row"]
        if ("last", i) in later:
            later[later[("last", i)]] = k
        later[("last", i)] = k
    c_dam = sorted(k for k in latest.values() if recs[k]["condition"] == "damaged"
                   and recs[k]["point"] is not None and not recs[k]["fixed"])
    c_good = sorted(k for k in latest.values() if recs[k]["condition"] == "good"
                    and recs[k]["point"] is not None and not recs[k]["fixed"]
                    and "2026-01-01" <= recs[k]["date"] < LAST_RECORD)
    c_old = sorted(k for k, n in later.items() if isinstance(k, int) and not recs[k]["fixed"]
                   and recs[k]["condition"] == "damaged" and "2022-01-01" <= recs[k]["date"]
                   <= "2023-12-31" and recs[n]["date"] > shift(recs[k]["date"], 10))
    for pool, typo, why in (
            (c_dam, "destroyed", "thực tế mốc hư hỏng (nứt chân đế)"),
            (c_good, "displaced", "đo kiểm tra, mốc không bị xê dịch"),
            (c_old, "good", "thực tế chân đế mốc bị xói lở")):
        r = recs[int(rng.choice(pool))]
        right, r["condition"] = r["condition"], typo
        recs.append(dict(r, date=shift(r["date"], 1), condition=right, ref=r, fixed=True,
                         notes=f"Đính chính bản ghi ngày {vn_date(r['date'])}: nhập nhầm tình "
                               f"trạng “{label(typo)}”, {why}"))

    # notes and photos
    for r in recs:
        if r["fixed"]:
            continue
        b, c = m.border.iloc[r["row"]], r["condition"]
        parts = []
        if r["team"] == "joint" and rng.uniform() < 0.3:
            parts.append(f"Tuần tra song phương với lực lượng bảo vệ biên giới {NEIGHBOUR[b]}")
        if c == "good" and rng.uniform() < 0.15:
            parts.append(GOOD_NOTES[rng.integers(len(GOOD_NOTES))])
        elif c == "displaced" and (dm := metres([r["point"]], wgs[[r["row"]]])[0]) > 1:
            parts.append(f"Mốc bị xê dịch khoảng {dm:.1f} m so với vị trí đăng ký, ".replace(
                ".", ",") + DISPLACE_CAUSES[rng.integers(len(DISPLACE_CAUSES))])
        elif c in FOUND_NOTES:
            parts.append(FOUND_NOTES[c][rng.integers(len(FOUND_NOTES[c]))])
        r["notes"] = "; ".join(parts) or None
    for r in recs:
        r["photos"] = int(rng.integers(1, 4)) if r["condition"] != "good" else (
            int(rng.integers(1, 3)) if rng.uniform() < 0.25 else 0)

    # resurveys: the new registered position is the marker's position as written
    resurveys = []
    for j, (b, n, found, day, _, dist, reason, surveyor) in enumerate(RESURVEYS, 1):
        i = row_of[f"{b}-{n}"]
        prev = offset_points(rng, wgs[[i]], [dist])[0]
        dm = f"{metres([prev], wgs[[i]])[0]:.1f}".replace(".", ",")
        hit = [r for r in recs if r["row"] == i and r["date"] == found]
        hit[0]["notes"] = f"Tọa độ đo GNSS lệch {dm} m so với tọa độ đăng ký; đề nghị đo đạc lại"
        resurveys.append(dict(id=f"R-{j:06d}", date=day, border=b, marker=n,
                              previous_wkt=shapely.to_wkt(prev, rounding_precision=7),
                              reason=reason.format(d=dm), surveyor=surveyor, geometry=wgs[i]))

    # ids in date order; photo names numbered per year
    recs.sort(key=lambda r: (r["date"], BORDERS.index(m.border.iloc[r["row"]]), r["row"],
                             r["ref"] is not None))
    counter = {}
    for n, r in enumerate(recs, 1):
        r["id"] = f"I-{n:06d}"
        y, names = r["date"][:4], []
        for _ in range(r["photos"]):
            counter[y] = counter.get(y, 0) + 1
            names.append(f"IMG_{y}_{counter[y]:04d}.jpg")
        r["photos"] = ";".join(names) or None
    out = [dict(id=r["id"], date=r["date"], border=m.border.iloc[r["row"]],
                marker=m.number.iloc[r["row"]], team=r["team"], condition=r["condition"],
                notes=r["notes"], photos=r["photos"], corrects=r["ref"] and r["ref"]["id"])
           for r in recs]
    geoms = np.array([r["point"] for r in recs], dtype=object)
    # the registered condition is the latest finding; a marker never inspected keeps 'good' or
    # 'unknown' (nobody has looked at it since it was built)
    replaced = {id(r["ref"]) for r in recs if r["ref"] is not None}
    eff = [r for r in recs if id(r) not in replaced]
    last = {}
    for r in eff:
        last[r["row"]] = r  # recs are in date order
    cond = np.where(np.isin(orig, ["good", "unknown"]), orig, "unknown")
    for i, r in last.items():
        cond[i] = r["condition"]
    return out, geoms, resurveys, cond


def check_inspections(m, wgs, ins, geoms, resurveys, works):
    """The inspection facts the README states, asserted on the records as written."""
    df = pd.DataFrame(ins)
    df["geometry"] = geoms
    key = m.border + "-" + m.number
    reg = dict(zip(key, wgs))
    kind = dict(zip(key, m.kind))
    built = dict(zip(key, m.built_date))
    df["key"] = df.border + "-" + df.marker
    assert df.key.isin(set(key[m.construction_status == "built"])).all(), "unbuilt or unknown"
    assert (df.date >= df.key.map(built)).all() and df.date.between("2016-01-01",
                                                                     LAST_RECORD).all()
    assert df.date.is_monotonic_increasing and df.id.is_unique
    fixes = df[df.corrects.notna()]
    assert len(fixes) == 3
    for r in fixes.itertuples():  # each corrects an earlier record of the same marker
        o = df[df.id == r.corrects].iloc[0]
        assert o.key == r.key and o.condition != r.condition and o.id < r.id
        assert r.date == shift(o.date, 1)
    eff = df[~df.id.isin(fixes.corrects)]
    # measured positions: 0-0.5 m from the registered point, displaced ones 1.5-15 m
    pos = eff[eff.geometry.notna()]
    dist = metres(pos.geometry.to_numpy(), np.array([reg[k] for k in pos.key], dtype=object))
    disp = (pos.condition == "displaced").to_numpy()
    assert (dist[~disp] <= 0.52).all() and ((dist[disp] >= 1.5) & (dist[disp] <= 15)).all()
    assert not eff[eff.condition.isin(["missing", "destroyed"])].geometry.notna().any()
    last = eff.groupby("key").tail(1).set_index("key")
    last_pos = pos.assign(dist=dist).groupby("key").tail(1).set_index("key")
    displaced = last_pos[last_pos.dist > 1.0]
    assert 10 <= len(displaced) <= 20 and (displaced.condition == "displaced").all()
    assert set(displaced.index) == set(last[last.condition == "displaced"].index)
    # registered condition = latest finding
    cond = dict(zip(key, m.condition))
    assert all(cond[k] == c for k, c in last.condition.items()), "marker condition"
    assert cond["LA-222(2)"] == "damaged"
    for k in ("KH-96", "KH-147/6", "KH-152/2", "KH-168/1", "KH-168/2"):
        assert cond[k] == "good"
    for a in ("96", "147/6", "152/2"):  # found damaged in 2022, good after the 2023 repair
        w = next(w for w in works if w["marker_from"] == a and w["border"] == "KH")
        h = eff[eff.key == f"KH-{a}"]
        assert h.condition.iloc[0] == "damaged" and h.date.iloc[0] < w["actual_start"]
        assert (h[h.date > w["actual_end"]].condition == "good").all()
    # inspection cycles as of AS_OF
    b = m[m.construction_status == "built"]
    bk = (b.border + "-" + b.number).to_numpy()
    due = np.array([months_later(last["date"][k], CYCLE_MONTHS[kind[k]]) if k in last.index
                    else "" for k in bk])
    never = due == ""
    overdue = ~never & (due <= AS_OF)
    current = ~never & ~overdue
    n = len(bk)
    assert current.sum() > 0.6 * n and 0.1 * n < overdue.sum() < 0.35 * n
    assert 0.02 * n < never.sum() < 0.1 * n
    st = dict(zip(bk, np.select([never, overdue], ["never", "overdue"], "current")))
    kh = b[(b.border == "KH") & b["main"].between(*NEVER_KH)]
    assert all(st[k] == "never" for k in "KH-" + kh.number)
    las = b[(b.border == "LA") & b.stake & (b["main"] >= NEVER_LA_STAKES)]
    assert all(st[k] == "never" for k in "LA-" + las.number)
    sl_large = b[(b.province == "Sơn La") & (b.kind == "large")]
    assert {k: st[k] for k in "LA-" + sl_large.number} == {"LA-207": "overdue",
                                                          "LA-255": "current"}
    seeds = m[m.protect & (m.construction_status == "built") & ~m.tri_border]
    assert all(st[k] != "never" for k in seeds.border + "-" + seeds.number)
    joint = eff.team == "joint"
    lc = eff.key.isin(set(key[m.province == "Lai Châu"]))
    assert 0.15 < joint.mean() < 0.5 and joint[lc].mean() > 0.4 and (~joint[lc]).any()
    assert {"damaged", "displaced", "destroyed", "missing"} <= set(last.condition)
    # resurveys: the new position is the marker's registered position; the discrepancy was
    # found by an inspection before the resurvey, and the position checked after it
    assert 1 <= len(resurveys) <= 3
    for r in resurveys:
        k = f"{r['border']}-{r['marker']}"
        assert shapely.equals_exact(r["geometry"], reg[k], 0)
        prev = shapely.from_wkt(r["previous_wkt"])
        assert 5 <= metres([prev], [reg[k]])[0] <= 30
        h = eff[eff.key == k]
        assert h.date.iloc[0] < r["date"] < h.date.iloc[-1] and h.geometry.notna().all()
        assert "lệch" in h.notes.iloc[0] and built[k] < r["date"]
    return dict(current=int(current.sum()), overdue=int(overdue.sum()),
                never=int(never.sum()), displaced=sorted(displaced.index), status=st)


# -- output ----------------------------------------------------------------------------------

# -- line sections: demarcation status along VN-Cambodia (illustrative) ----------------------
#: The main-number stretches of VN-Cambodia left undemarcated (their markers are planned or
#: under construction, see assign_attributes); a section ends at the last built marker before
#: the stretch and starts again at the first built marker after it.
UNDEMARCATED_KH = ((176, 184), (222, 240), (268, 290))
KH_PROTOCOL = ("Nghị định thư phân giới cắm mốc biên giới đất liền Việt Nam – Campuchia "
               "(05/10/2019)")


def build_sections(m, runs):
    """VN-Cambodia cut into line sections: not demarcated over UNDEMARCATED_KH, demarcated
    elsewhere, and cut again where the line passes from one province to the next (each
    section lies in one province). Chainage and geometry come from bienmoc's own line index
    of the written boundary (the convention of bienmoc.geometry.locate), so the files agree
    with what `bienmoc import line_sections` derives from the same chainages."""
    from bienmoc.geometry.linear import LineIndex
    from bienmoc.geometry.sections import chainage_lines

    index = LineIndex(Written.layers["boundary"], crs=METRIC)
    length = index.length_m["KH"]
    kh = m[m.border == "KH"]
    xy = index.to_metric_xy(to_wgs84(kh.geometry.values))
    ch = index.locate_on("KH", xy[:, 0], xy[:, 1]).chainage_m
    main = kh["main"].to_numpy()
    cuts, status = [0.0], []
    for a, z in UNDEMARCATED_KH:
        cuts += [float(np.ceil(ch[main < a].max())), float(np.floor(ch[main > z].min()))]
        status += ["demarcated", "not_demarcated"]
    cuts.append(length)
    status.append("demarcated")
    bounds = sorted({round(b) for _, b, _ in runs["KH"][:-1]})  # province changes
    rows = []
    for (a, z), st in zip(zip(cuts[:-1], cuts[1:]), status):
        inner = [a] + [b for b in bounds if a < b < z] + [z]
        for s, e in zip(inner[:-1], inner[1:]):
            mid = (s + e) / 2
            prov = next(n for n, r0, r1 in runs["KH"] if r0 <= mid <= r1)
            rows.append(dict(border="KH", province=prov, from_m=round(s), to_m=round(e),
                             status=st, document=KH_PROTOCOL if st == "demarcated" else None,
                             notes=None if st == "demarcated" else
                             "Đoạn chưa phân giới cắm mốc (minh họa)"))
    rows[-1]["to_m"] = float(np.floor(length))
    for k, r in enumerate(rows, 1):
        r["id"] = f"S-{k:06d}"
    # the markers agree: built ones in demarcated sections, the others in not-demarcated ones
    f = np.array([r["from_m"] for r in rows])
    k = np.clip(np.searchsorted(f, ch, side="right") - 1, 0, len(rows) - 1)
    demarcated = np.array([rows[i]["status"] == "demarcated" for i in k])
    built = (kh.construction_status == "built").to_numpy()
    bad = kh.number.to_numpy()[demarcated != built]
    assert not len(bad), f"markers {list(bad[:10])} disagree with their section's status"
    assert all(a["to_m"] == b["from_m"] for a, b in zip(rows[:-1], rows[1:]))
    geoms = chainage_lines(index, [r["border"] for r in rows], f,
                           np.array([r["to_m"] for r in rows]))
    geoms = shapely.transform(np.asarray(geoms.values, dtype=object),
                              lambda xy: np.round(xy, 7))
    return rows, geoms


def plain(v):
    """A JSON-ready Python value (None for missing)."""
    if v is None or v == "" or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


class Written:
    """The layers validated so far: the context (``read``) later layers are checked against."""

    layers = {}

    @classmethod
    def read(cls, kind):
        return cls.layers.get(kind, empty_layer(kind))


def write_layer(kind, records, geoms):
    """Validate ``records`` (dicts of schema columns) with lon/lat geometries (None: no
    geometry), check what they refer to against the layers written before, then write."""
    # 'overrides' stays out of the files: no demo record overrides an entry rule
    cols = [c for c in SCHEMAS[kind].columns if c != "overrides"]
    records = [{c: plain(r.get(c)) for c in cols} for r in records]
    if records:
        gdf = gpd.GeoDataFrame(pd.DataFrame(records, columns=cols), geometry=list(geoms),
                               crs=WGS84)
        Written.layers[kind] = data = validate(kind, gdf, borders=set(BORDERS),
                                               what=f"{kind} (demo build)")
        if reference_problems is not None:
            problems = reference_problems(kind, data, Written)
            assert not problems, f"{kind}: {problems[:5]}"
    feats = [json.dumps({"type": "Feature", "properties": r,
                         "geometry": None if g is None else shapely.geometry.mapping(g)},
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
    rng2 = np.random.default_rng([SEED, 2])  # progress, inspections, resurveys
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
    wgs = to_wgs84(m.geometry.values)
    progress = build_progress(rng2, works)
    inspections, inspection_geoms, resurveys, m["condition"] = build_inspections(
        rng2, m, wgs, works)
    facts = check_inspections(m, wgs, inspections, inspection_geoms, resurveys, works)
    sizes["markers"] = write_layer("markers", m.to_dict("records"), wgs)
    sizes["gates"] = write_layer("gates", gates.to_dict("records"),
                                 to_wgs84(gates.geometry.values))
    sizes["works"] = write_layer("works", works, to_wgs84(work_geoms))
    sizes["incidents"] = write_layer("incidents", incidents, to_wgs84(incident_geoms))
    sizes["inspections"] = write_layer("inspections", inspections, inspection_geoms)
    sizes["work_progress"] = write_layer("work_progress", progress, [None] * len(progress))
    sizes["resurveys"] = write_layer("resurveys", resurveys, [r["geometry"] for r in resurveys])
    sections, section_geoms = build_sections(m, runs)
    sizes["line_sections"] = write_layer("line_sections", sections, section_geoms)
    summary(m, gates, works, incidents, sizes, runs)
    summary_records(m, works, progress, inspections, resurveys, facts)
    summary_sections(sections)


def summary_sections(sections):
    km = pd.DataFrame(sections).assign(km=lambda d: (d.to_m - d.from_m) / 1000)
    total = km.km.sum()
    done = km.km[km.status == "demarcated"].sum()
    tn = km[km.province == "Tây Ninh"].groupby("status").km.sum().round(1).to_dict()
    print(f"line sections: {len(km)} on KH, {done:.1f} of {total:.1f} km demarcated "
          f"({100 * done / total:.1f} %); Tây Ninh {tn}")


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
          f"incidents: {len(incidents)} {status.to_dict()}")


def summary_records(m, works, progress, inspections, resurveys, facts):
    ws = pd.Series({w["id"]: PROGRESS[w["id"]][4] for w in works})
    print(f"work progress: {len(progress)} updates for {len({p['work_id'] for p in progress})} "
          f"works; status as of {AS_OF}: " + ", ".join(
              f"{s} {', '.join(ws.index[ws == s])}" for s in sorted(set(ws))))
    ins = pd.DataFrame(inspections)
    print(f"inspections: {len(ins)} ({(ins.team == 'joint').sum()} joint, "
          f"{ins.corrects.notna().sum()} corrections), {ins.date.min()}...{ins.date.max()}; "
          f"built markers as of {AS_OF}: {facts['current']} up to date, {facts['overdue']} "
          f"overdue, {facts['never']} never inspected; displaced {len(facts['displaced'])}: "
          f"{', '.join(facts['displaced'])}")
    rs = ", ".join(r["border"] + "-" + r["marker"] for r in resurveys)
    print(f"resurveys: {len(resurveys)} ({rs}); marker conditions: "
          f"{m.condition.value_counts().to_dict()}")


if __name__ == "__main__":
    main()
