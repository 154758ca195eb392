"""Vietnamese renderings of the validation messages the library raises (in English).

The library states every problem in English (logs, the HTTP API); the CLI shows them in the
user's language. This catalogue maps each message shape to Vietnamese; a message it does not
know is shown as it is. (A gettext catalogue would need compiled .mo files and message ids in
every f-string; one table of patterns next to the messages is easier to keep in step, and
``tests/test_messages.py`` checks that the messages the validators produce are covered.)
"""
from __future__ import annotations

import re

__all__ = ["to_vi"]


def _subject(m: re.Match) -> str:
    """'marker 207' / 'gate Lóng Sập' / 'the incident' in Vietnamese."""
    text = m.group("who")
    for en, vi in (("marker ", "mốc "), ("gate ", "cửa khẩu ")):
        if text.startswith(en):
            return vi + text[len(en):]
    return {"the incident": "vụ việc"}.get(text, text)


def _field_vi(name: str) -> str:
    from bienmoc.model.schema import SCHEMAS

    for schema in SCHEMAS.values():
        for f in schema.fields:
            if f.name == name and f.vi:
                return f.vi.lower()
    return name


def _allowed_vi(text: str) -> str:
    """'large (large marker), medium (...)' -> 'mốc đại, mốc trung, ...': the Vietnamese labels
    of an enum's allowed values (parse accepts them as well as the codes)."""
    from bienmoc.model.enums import _LABELS

    items = re.findall(r"(\w+)(?: \(([^)]*)\))?(?:, |$)", text)
    codes = [c for c, _ in items]
    for enum in _LABELS:
        if codes and [m.value for m in enum] == codes:
            return ", ".join(f"'{m.vi}'" for m in enum)
    return text


def _far(m: re.Match) -> str:
    return f"{_subject(m)} cách đường biên giới {m['b']} {m['d']}; giới hạn là {m['lim']}"


def _border(m: re.Match) -> str:
    return (f"{_subject(m)} ghi tuyến {m['b']} nhưng cách đường biên giới {m['c']} {m['dc']} "
            f"và cách đường {m['b']} {m['db']}")


def _order(m: re.Match) -> str:
    a, b = (_field_vi(m[k].replace(" ", "_")) for k in ("a", "b"))
    return f"{a} {m['x']} sau {b} {m['y']}"

_CATALOGUE: list[tuple[str, str]] = [
    (r"value is required", "thiếu giá trị bắt buộc"),
    (r"(.+?) is the store itself: export the layer to a file first, or import from another "
     r"store", r"\1 chính là kho dữ liệu: hãy xuất lớp ra một tệp trước, hoặc nhập từ một kho "
     r"khác"),
    (r"required column is missing", "thiếu cột bắt buộc"),
    (r"unknown value (.+?); allowed: (.+)", lambda m: f"giá trị không hợp lệ {m[1]}; các giá "
     f"trị được phép: {_allowed_vi(m[2])}"),
    (r"malformed marker number (.+?): expected forms like .+",
     r"số hiệu mốc sai dạng \1: phải viết như '207', '163/1', '222(1)' hoặc '1116/1(2)' "
     r"(chữ số không có số 0 ở đầu; thành phần (1)-(3))"),
    (r"marker number is missing", "thiếu số hiệu mốc"),
    (r"duplicate marker number on one border \((.+?)\): already in the store",
     r"trùng số hiệu mốc trên cùng tuyến (\1): đã có trong kho dữ liệu"),
    (r"duplicate marker number on one border \((.+?)\): also in row (\d+)",
     r"trùng số hiệu mốc trên cùng tuyến (\1): trùng với dòng \2"),
    (r"duplicate key \((.+?)\): already in the store", r"trùng mã (\1): đã có trong kho dữ liệu"),
    (r"duplicate key \((.+?)\): also in row (\d+)", r"trùng mã (\1): trùng với dòng \2"),
    (r"geometry is missing or empty", "thiếu tọa độ (hình học rỗng)"),
    (r"wrong geometry type (\w+); expected (.+)", r"sai kiểu hình học \1; cần \2"),
    (r"coordinates are not finite numbers", "tọa độ không phải số hữu hạn"),
    (r"coordinates \((.+?)\) look projected \(metres\), not longitude/latitude: give the "
     r"source CRS, e.g. (--crs \S+) for (.+)",
     r"tọa độ (\1) là tọa độ phẳng (mét), không phải kinh độ/vĩ độ: hãy khai báo hệ tọa độ "
     r"nguồn, ví dụ \2 cho \3"),
    (r"coordinates \((.+?)\) are out of range \(longitude -180\.\.180, latitude -90\.\.90\)",
     r"tọa độ (\1) nằm ngoài phạm vi (kinh độ -180..180, vĩ độ -90..90)"),
    (r"coordinates \((.+?)\) lie outside the border region \(longitude (\S+), latitude (\S+)\)"
     r"; longitude and latitude look swapped",
     r"tọa độ (\1) nằm ngoài vùng biên giới (kinh độ \2, vĩ độ \3); có thể đã đảo kinh độ "
     r"và vĩ độ"),
    (r"coordinates \((.+?)\) lie outside the border region \(longitude (\S+), latitude (\S+)\)",
     r"tọa độ (\1) nằm ngoài vùng biên giới (kinh độ \2, vĩ độ \3)"),
    (r"coordinates (.+?), (.+?) are not numbers", r"tọa độ \1, \2 không phải số"),
    (r"invalid geometry: (.+)", r"hình học không hợp lệ: \1"),
    (r"not a date: (.+?) \(no such day; write YYYY-MM-DD or dd/mm/yyyy\)",
     r"không phải ngày: \1 (không có ngày này; viết YYYY-MM-DD hoặc dd/mm/yyyy)"),
    (r"not a date: (.+?) \(write YYYY-MM-DD or dd/mm/yyyy\)",
     r"không phải ngày: \1 (viết YYYY-MM-DD hoặc dd/mm/yyyy)"),
    (r"not a date: (.+?) \(write YYYY-MM-DD\)", r"không phải ngày: \1 (viết YYYY-MM-DD)"),
    (r"not a yes/no value: (.+?) \(use true/false\)", r"không phải giá trị có/không: \1"),
    (r"not a (?:finite |whole )?number: (.+)", r"không phải số hợp lệ: \1"),
    (r"text longer than (\d+) characters \((\d+)\)", r"văn bản dài quá \1 ký tự (\2)"),
    (r"(.+?) is below the minimum (.+)", r"\1 nhỏ hơn giá trị tối thiểu \2"),
    (r"(.+?) is above the maximum (.+)", r"\1 lớn hơn giá trị tối đa \2"),
    (r"border code (.+?) must be the neighbour's two-letter ISO code, e\.g\. (.+)",
     r"mã tuyến \1 phải là mã ISO hai chữ cái của nước láng giềng, ví dụ \2"),
    (r"unknown border (.+?); the store has (.+)",
     r"tuyến biên giới không có \1; kho dữ liệu có \2"),
    (r"single marker (.+?) cannot have a part index",
     r"mốc đơn \1 không được có chỉ số thành phần"),
    (r"(\w+) marker (.+?) needs a part index, e\.g\. .+",
     r"mốc \1 \2 cần chỉ số thành phần, ví dụ '222(1)' và '222(2)'"),
    (r"part (\d+) disagrees with number (.+)", r"thành phần \1 không khớp với số hiệu \2"),
    (r"double marker (.+?) has part (\d+) > 2", r"mốc đôi \1 có thành phần \2 > 2"),
    (r"(.+?) is not valid (\S+) \(byte (0x..) at line (\d+)\); save it as UTF-8 .+",
     r"tệp \1 không đúng mã \2 (byte \3 ở dòng \4); hãy lưu lại dạng UTF-8 (Excel: "
     r"'CSV UTF-8') hoặc dùng --encoding, ví dụ cp1258 cho tiếng Việt trên Windows"),
    (r"(.+?) has a header but no rows", r"tệp \1 chỉ có dòng tiêu đề, không có dữ liệu"),
    (r"(.+?) holds no records", r"tệp \1 không có bản ghi nào"),
    (r"(.+?) is empty", r"tệp \1 rỗng"),
    (r"file not found: (.+)", r"không tìm thấy tệp: \1"),
    (r"(.+?) has no coordinate columns: .+",
     r"tệp \1 không có cột tọa độ: cần lon/lat (hoặc x/y kèm --crs) hoặc cột wkt"),
    (r"no work with id (.+)", r"không có công trình mã \1"),
    (r"no marker (.+?) on border (.+)", r"không có mốc \1 trên tuyến \2"),
    (r"no (\w+) record (.+?) to correct", r"không có bản ghi \2 để đính chính"),
    (r"(.+?) is in the future \(today is (.+?)\)",
     r"\1 là ngày trong tương lai (hôm nay là \2)"),
    (r"(.+?) is in the future", r"\1 là ngày trong tương lai"),
    # the entry rules (bienmoc.records.rules): one message per rule
    (r"control character (U\+[0-9A-F]{4}) at position (\d+) of (.+); only tab and newline "
     r"are allowed", r"ký tự điều khiển \1 ở vị trí \2 của \3; chỉ cho phép tab và xuống dòng"),
    (r"(?P<who>.+?) says border (?P<b>\S+) but lies (?P<dc>\S+ k?m) from the (?P<c>\S+) line "
     r"and (?P<db>\S+ k?m) from the \S+ line", _border),
    (r"(?P<who>marker .+?|gate .+?|the incident) lies (?P<d>\S+ k?m) from the (?P<b>\S+) "
     r"border line; the limit is (?P<lim>\S+ k?m)", _far),
    (r"gate (.+?) lies (\S+ k?m) on the (\S+) side of the line; a gate stands on the "
     r"Vietnamese side", r"cửa khẩu \1 nằm phía \3, cách đường biên giới \2; cửa khẩu phải "
     r"nằm phía Việt Nam"),
    (r"marker parts (.+?) stand on the same side of the line",
     r"các mốc \1 cùng một phía đường biên giới"),
    (r"marker parts (.+?) are (\d+) m apart \(max (\S+) m\)",
     r"các mốc \1 cách nhau \2 m (tối đa \3 m)"),
    (r"province (.+?) disagrees with the position, which lies in (.+)",
     r"tỉnh \1 không khớp với vị trí, vị trí này thuộc \2"),
    (r"measured position lies (\S+ k?m) from the registered position of marker (.+?) "
     r"\((\w+)\); the limit is (\S+ k?m): .+",
     r"vị trí đo được cách vị trí đăng ký của mốc \2 (\3) \1; giới hạn là \4: nếu mốc đã "
     r"bị xê dịch, hãy ghi đo đạc lại (record resurvey) kèm lý do"),
    (r"resurvey moves marker (.+?) \((\w+)\) by (\S+ k?m); the limit is (\S+ k?m)",
     r"đo đạc lại dời mốc \1 (\2) \3; giới hạn là \4"),
    (r"(?P<a>[a-z][a-z ]*?) (?P<x>\S+) is after (?P<b>[a-z][a-z ]*?) (?P<y>\S+)", _order),
    (r"(.+?) is before marker (.+?) was built \((.+?)\)",
     r"\1 trước ngày mốc \2 được xây dựng xong (\3)"),
    (r"(.+?) is before work (.+?) started \((.+?)\)",
     r"\1 trước ngày công trình \2 khởi công (\3)"),
    (r"record (.+?) is of (.+?), not (.+?): a correction replaces a record of the same "
     r"subject", r"bản ghi \1 thuộc \2, không phải \3: bản đính chính phải thay một bản ghi "
     r"của cùng mốc/công trình"),
    # line sections (rules section_chainage / section_overlap / section_province)
    (r"to_m (\S+) m is not after from_m (\S+) m: a section runs from the lower chainage to "
     r"the higher", r"đến lý trình \1 m không lớn hơn từ lý trình \2 m: một đoạn đi từ lý "
     r"trình nhỏ đến lý trình lớn"),
    (r"to_m (\S+) m lies beyond the end of the (\S+) line \((\S+) m\)",
     r"đến lý trình \1 m vượt quá điểm cuối đường biên giới \2 (\3 m)"),
    (r"section (\S+)–(\S+) m of the (\S+) line overlaps section (\S+) \((\S+)–(\S+) m\)",
     r"đoạn \1–\2 m của đường biên giới \3 chồng lấn đoạn \4 (\5–\6 m)"),
    (r"section (\S+)–(\S+) m of the (\S+) line overlaps row (\d+) \((\S+)–(\S+) m\)",
     r"đoạn \1–\2 m của đường biên giới \3 chồng lấn đoạn ở dòng \4 (\5–\6 m)"),
    (r"province (.+?) holds no part of the (\S+) line between (\S+) and (\S+) m, which lies "
     r"in (.+)", r"tỉnh \1 không có phần nào của đường biên giới \2 từ lý trình \3 đến \4 m; "
     r"đoạn này thuộc \5"),
    (r"unknown rule (.+?) to allow; the rules are (.+)",
     r"không có quy tắc \1 để cho phép ngoại lệ; các quy tắc: \2"),
    (r"nothing to change: give at least one of (.+)",
     r"không có gì để thay đổi: hãy cho ít nhất một trong các trường \1"),
    (r"field (.+?) cannot be changed; fields: (.+)",
     r"không được sửa trường \1; các trường: \2"),
    (r"(.+?)% is below the previous update \((.+?)%\).+",
     r"\1% thấp hơn lần cập nhật trước (\2%); nếu số trước bị sai, hãy ghi bản đính chính "
     r"(--corrects MÃ)"),
    (r"not WKT geometry: (.+)", r"không phải hình học WKT: \1"),
    # the store's bounded wait for its write lock (StoreBusy) and its unique ids
    (r"another writer (?:of this process )?holds the store; waited (.+?) s",
     r"một tiến trình khác đang ghi vào kho dữ liệu; đã chờ \1 giây, hãy thử lại sau"),
    (r"another program holds the store's write lock; waited (.+?) s",
     r"một chương trình khác (ví dụ QGIS đang lưu) giữ quyền ghi kho dữ liệu; đã chờ \1 giây, "
     r"hãy thử lại sau"),
    (r"readers kept the store busy past (.+?) s",
     r"kho dữ liệu đang bận vì có người đọc; đã chờ \1 giây, hãy thử lại sau"),
    (r"layer '(.+?)' already holds id\(s\) (.+)", r"lớp '\1' đã có mã \2"),
    # the PostgreSQL/PostGIS store (storage/postgis.py)
    (r"cannot connect to the PostgreSQL store: (.+)",
     r"không kết nối được tới kho PostgreSQL: \1"),
    (r"a postgresql:// store needs psycopg 3: (.+)", r"kho postgresql:// cần psycopg 3: \1"),
    (r"schema (\S+) needs migrating and this role may not do it \((.+?)\); run .+",
     r"lược đồ \1 cần cập nhật nhưng vai trò này không có quyền (\2); hãy chạy 'bienmoc store "
     r"migrate' bằng vai trò chủ sở hữu lược đồ"),
    (r"cannot read the PostgreSQL store: (.+)", r"không đọc được kho PostgreSQL: \1"),
    (r"cannot write to the PostgreSQL store: (.+)", r"không ghi được vào kho PostgreSQL: \1"),
    (r"layer '(.+?)' holds duplicate ids (.+?): fix them .+",
     r"lớp '\1' có mã trùng nhau \2: hãy sửa (ví dụ trong QGIS) trước khi bienmoc tạo chỉ mục "
     r"mã duy nhất"),
    # -- coordinate systems and files (geometry/crs.py, io/)
    (r"CRS (\S+) distorts distances by up to (.+?) % over the data \(limit (.+?) %\): use "
     r"(\S+) \((.+?)\) or the VN-2000 zone of the province instead",
     r"hệ tọa độ \1 làm sai lệch khoảng cách tới \2 % trên vùng dữ liệu (giới hạn \3 %): "
     r"hãy dùng \4 (\5) hoặc hệ VN-2000 theo múi chiếu của tỉnh"),
    (r"CRS (\S+) is not projected: distances need metres",
     r"hệ tọa độ \1 không phải hệ tọa độ phẳng: khoảng cách phải tính bằng mét"),
    (r"CRS (\S+) measures in (.+?), not metres", r"hệ tọa độ \1 dùng đơn vị \2, không phải mét"),
    (r"unknown CRS (.+?): (.+)", r"hệ tọa độ không xác định \1: \2"),
    (r"CRS (.+?) is a PROJ string, which drops datum shifts: give an EPSG code, e\.g\. (.+)",
     r"hệ tọa độ \1 là chuỗi PROJ, bỏ mất phép chuyển đổi datum: hãy dùng mã EPSG, ví dụ \2"),
    (r"(\S+) mixes geometry types \((.+?)\), which one Shapefile cannot hold: export to a "
     r"\.zip, which holds one \.shp per type",
     r"lớp \1 có nhiều kiểu hình học (\2), một tệp Shapefile không chứa được: hãy xuất ra "
     r"tệp .zip (mỗi kiểu hình học một tệp .shp)"),
    (r"text of (\d+) bytes does not fit a Shapefile field \((\d+) bytes at most\): export as "
     r"gpkg or geojson",
     r"văn bản dài \1 byte, quá giới hạn trường Shapefile (tối đa \2 byte): hãy xuất ra gpkg "
     r"hoặc geojson"),
    (r"text of (\d+) characters does not fit an Excel cell \((\d+) at most\): export as csv, "
     r"gpkg or geojson",
     r"văn bản dài \1 ký tự, quá giới hạn một ô Excel (tối đa \2): hãy xuất ra csv, gpkg "
     r"hoặc geojson"),
    (r"coordinates lie outside the border region as (\S+) in (\S+) but inside it as (\S+): "
     r"Vietnamese survey sheets write X = northing, Y = easting; pass (--xy \S+)",
     r"tọa độ nằm ngoài vùng biên giới khi đọc theo thứ tự \1 trong \2 nhưng nằm trong vùng "
     r"khi đọc theo thứ tự \3: sổ đo đạc Việt Nam ghi X = hướng Bắc, Y = hướng Đông; hãy dùng "
     r"\4"),
    (r"(.+?) has no sheet (.+?); it has (.+)", r"tệp \1 không có trang tính \2; các trang: \3"),
    (r"cannot read (.+?): (.+)", r"không đọc được tệp \1: \2"),
    (r"the Shapefiles in (.+?) are in different CRSs; import them one by one \(--layer\)",
     r"các tệp Shapefile trong \1 dùng các hệ tọa độ khác nhau; hãy nhập từng tệp (--layer)"),
    (r"unknown --xy order (.+?); expected (.+)", r"thứ tự --xy không hợp lệ \1; cần \2"),
    (r"not a date: (.+?) \(no such day; write YYYY-MM-DD or dd/mm/yyyy\)",
     r"không phải ngày: \1 (không có ngày này; viết YYYY-MM-DD hoặc dd/mm/yyyy)"),
    (r"no marker (\S+)", r"không có mốc \1"),
    (r"cannot group works by (.+)", r"không nhóm công trình theo \1 được"),
    (r"cannot group by (.+?): not a marker field",
     r"không nhóm theo \1 được: không phải trường của cột mốc"),
    (r"CRS (.+?) is not projected: distances need metres",
     r"hệ tọa độ \1 không phải hệ tọa độ phẳng: khoảng cách cần đơn vị mét"),
    (r"cannot read (.+?): (.+)", r"không đọc được \1: \2"),
    # the strip map (bienmoc.maps.strip)
    (r"need 0 <= from_km < to_km, got from_km=(\S+), to_km=(\S+)",
     r"cần 0 <= từ km < đến km, nhận được từ km = \1, đến km = \2"),
    (r"from_km=(\S+) is beyond the end of the (\S+) line \((\S+) km long\)",
     r"từ km \1 nằm ngoài tuyến \2 (dài \3 km)"),
    (r"border=(\S+): no boundary line of that border \(known: (.+)\)",
     r"tuyến \1: không có đường biên giới của tuyến này (có: \2)"),
    # patrol tracks and coverage (bienmoc.io.tracks, bienmoc.analysis.coverage)
    (r"vertex (\d+): (.+)", lambda m: f"đỉnh {m[1]}: {to_vi(m[2])}"),
    (r"the fix has no time", "điểm GPS không có thời gian"),
    (r"not a time: (.+?) \(write ISO 8601, e\.g\. (\S+)\)",
     r"không phải thời điểm: \1 (viết theo ISO 8601, ví dụ \2)"),
    (r"not a date-time: (.+?) \(write (\S+) or dd/mm/yyyy HH:MM\)",
     r"không phải ngày giờ: \1 (viết \2 hoặc dd/mm/yyyy HH:MM)"),
    (r"position \((.+?)\) lies outside the border region \(longitude (\S+), latitude (\S+)\)",
     r"vị trí (\1) nằm ngoài vùng biên giới (kinh độ \2, vĩ độ \3)"),
    (r"duplicate timestamp (\S+) \(same as (line|vertex) (\d+)\)",
     lambda m: f"trùng thời điểm {m[1]} (giống {'dòng' if m[2] == 'line' else 'đỉnh'} {m[3]})"),
    (r"time (\S+) is earlier than the previous fix's \((line|vertex) (\d+)\)",
     lambda m: f"thời điểm {m[1]} sớm hơn điểm trước "
               f"({'dòng' if m[2] == 'line' else 'đỉnh'} {m[3]})"),
    (r"impossible speed (\S+) km/h from (line|vertex) (\d+) \((\S+) m in (\S+) s; the limit "
     r"is (\S+) km/h\)",
     lambda m: f"tốc độ {m[1]} km/h từ {'dòng' if m[2] == 'line' else 'đỉnh'} {m[3]} là không "
               f"thể ({m[4]} m trong {m[5]} giây; giới hạn {m[6]} km/h)"),
    (r"and (\d+) more bad fixes", r"và \1 điểm GPS lỗi khác"),
    (r"no GPS fixes in the file\(s\)", "tệp không có điểm GPS nào"),
    (r"a joint patrol needs the neighbour's unit \(neighbour_unit\)",
     "tuần tra song phương cần ghi lực lượng phía bạn (neighbour_unit)"),
    (r"a patrol of team (.+?) starting (\S+) is already in the store",
     r"tổ \1 đã có chuyến tuần tra bắt đầu lúc \2 trong kho dữ liệu"),
    (r"a patrol of team (.+?) starting (\S+) is twice in these files",
     r"chuyến tuần tra của tổ \1 bắt đầu lúc \2 có hai lần trong các tệp đang nhập"),
    (r"the CSV has no (\w+) column \(columns: (.*)\)", r"tệp CSV không có cột \1 (các cột: \2)"),
    (r"cannot read the CSV: (.+)", r"không đọc được tệp CSV: \1"),
    (r"feature (\d+) is a (\S+); a track is a LineString or MultiLineString",
     r"đối tượng \1 là \2; hành trình phải là LineString hoặc MultiLineString"),
    (r"(.+?): not a track file; expected (.+), a folder or a \.zip",
     r"\1: không phải tệp hành trình; cần \2, một thư mục hoặc tệp .zip"),
    (r"(.+?): no track files \((.+)\) in it", r"\1: không có tệp hành trình (\2) nào"),
    (r"border (\S+) has fewer than two markers: use by='km'",
     r"tuyến \1 có ít hơn hai mốc: hãy dùng --by km"),
    (r"no section of border (\S+) in province (.+)", r"tuyến \1 không có đoạn nào thuộc tỉnh \2"),
    (r"the period starts (\S+) after it ends (\S+)", r"kỳ bắt đầu \1 sau ngày kết thúc \2"),
    # terrain risk / viewshed (bienmoc.terrain)
    (r"method 'fr' needs landslide incidents \(kind = landslide\) on the DEM; none found",
     "phương pháp 'fr' cần các vụ sạt lở (loại landslide) nằm trên DEM; không có vụ nào"),
    (r"method must be auto, fr or wlc, not (.+)", r"phương pháp phải là auto, fr hoặc wlc, "
     r"không phải \1"),
    (r"step must be > 0 m, got (.+)", r"bước lấy mẫu phải lớn hơn 0 m, nhận được \1"),
    (r"radius must be > 0 m, got (.+)", r"bán kính phải lớn hơn 0 m, nhận được \1"),
    # the command line's own messages (bienmoc.cli) and click's usage errors
    (r"give both --lon and --lat, or neither", "hãy cho cả --lon và --lat, hoặc bỏ cả hai"),
    (r"expected (\S+), got (.+)", r"cần dạng \1, nhận được \2"),
    (r"--format xlsx needs --output FILE\.xlsx", "--format xlsx cần --output TỆP.xlsx"),
    (r"(.+?) is not one of (.+)\.", r"\1 không thuộc các giá trị \2."),
    (r"(.+?) is not a valid float\.", r"\1 không phải số thực hợp lệ."),
    (r"(.+?) is not a valid integer\.", r"\1 không phải số nguyên hợp lệ."),
    (r"(.+?) is not in the range (.+)\.", r"\1 nằm ngoài khoảng \2."),
    (r"No such command (.+?)\.", r"không có lệnh \1."),
    (r"No such option:? (\S+?)\.? Did you mean (.+)\?", r"không có tùy chọn \1; có phải \2?"),
    (r"No such option:? (\S+?)\.?", r"không có tùy chọn \1"),
    (r"Missing argument (.+?)\.", r"thiếu đối số \1."),
    (r"Missing option (.+?)\.", r"thiếu tùy chọn \1."),
    (r"Option (.+?) requires an argument\.", r"tùy chọn \1 cần một giá trị."),
    (r"Got unexpected extra arguments? \((.+)\)", r"thừa đối số (\1)"),
    (r"File (.+?) does not exist\.", r"không có tệp \1."),
    (r"File (.+?) is a directory\.", r"\1 là thư mục, không phải tệp."),
    # bienmoc.users
    (r"user (.+?) exists already", r"người dùng \1 đã có"),
    (r"no user (.+)", r"không có người dùng \1"),
    (r"unknown role (.+?); roles: (.+)", r"không có vai trò \1; các vai trò: \2"),
    (r"user name (.+?): 1-64 letters, digits or \. _ @ -",
     r"tên người dùng \1: 1-64 chữ cái, chữ số hoặc . _ @ -"),
    (r"'api' is reserved for the server's BIENMOC_API_TOKEN",
     r"tên 'api' dành cho BIENMOC_API_TOKEN của máy chủ"),
]
_COMPILED = [(re.compile(rf"^{pat}$", re.DOTALL), rep) for pat, rep in _CATALOGUE]


_ISO_DATE = re.compile(r"(?<![\w-])(\d{4})-(\d\d)-(\d\d)(?![\w-])")


def _vi_date(m: re.Match) -> str:
    import datetime as _dt

    try:
        _dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:  # not a real day (a user's mistyped value): shown as typed
        return m[0]
    return f"{m[3]}/{m[2]}/{m[1]}"


#: A measured quantity: a number (or the first of a range "120–340") before a unit.
_QUANTITY = re.compile(r"(?<![\w.,/:-])(\d+(?:\.\d+)?)(?=(?:–\d+(?:\.\d+)?)?\s?"
                       r"(?:m|km|km/h|s|%)(?![\w/]))")


def _vi_quantity(m: re.Match) -> str:
    from bienmoc.fmt import fmt_number

    text = m[1]
    digits = len(text.partition(".")[2])
    return fmt_number(int(text) if not digits else float(text), "vi", digits or None)


def _vi_numbers(text: str) -> str:
    """Dates as Vietnamese write them (2025-03-01 -> 01/03/2025) and measured quantities with
    the Vietnamese separators (10.5 m -> 10,5 m; 12345 m -> 12.345 m)."""
    return _QUANTITY.sub(_vi_quantity, _ISO_DATE.sub(_vi_date, text))


def to_vi(message: str) -> str:
    """The Vietnamese rendering of a library message (the message itself if unknown); dates
    and measured quantities in it as Vietnamese write them (2025-03-01 -> 01/03/2025,
    10.5 m -> 10,5 m)."""
    for pat, rep in _COMPILED:
        if pat.match(message):
            return _vi_numbers(pat.sub(rep, message))
    return _vi_numbers(message)
