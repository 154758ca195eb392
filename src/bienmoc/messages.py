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

_CATALOGUE: list[tuple[str, str]] = [
    (r"value is required", "thiếu giá trị bắt buộc"),
    (r"required column is missing", "thiếu cột bắt buộc"),
    (r"unknown value (.+?); allowed: (.+)", r"giá trị không hợp lệ \1; các giá trị được phép: \2"),
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
     r"không có ngày \1 (viết YYYY-MM-DD hoặc dd/mm/yyyy)"),
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
    (r"(.+?) is in the future", r"\1 là ngày trong tương lai"),
    (r"(.+?)% is below the previous update \((.+?)%\).+",
     r"\1% thấp hơn lần cập nhật trước (\2%); nếu số trước bị sai, hãy ghi bản đính chính "
     r"(--corrects MÃ)"),
    (r"not WKT geometry: (.+)", r"không phải hình học WKT: \1"),
    (r"no marker (\S+)", r"không có mốc \1"),
    (r"cannot group works by (.+)", r"không nhóm công trình theo \1 được"),
    (r"cannot group by (.+?): not a marker field",
     r"không nhóm theo \1 được: không phải trường của cột mốc"),
    (r"CRS (.+?) is not projected: distances need metres",
     r"hệ tọa độ \1 không phải hệ tọa độ phẳng: khoảng cách cần đơn vị mét"),
    (r"cannot read (.+?): (.+)", r"không đọc được \1: \2"),
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
]
_COMPILED = [(re.compile(rf"^{pat}$", re.DOTALL), rep) for pat, rep in _CATALOGUE]


def to_vi(message: str) -> str:
    """The Vietnamese rendering of a library message (the message itself if unknown)."""
    for pat, rep in _COMPILED:
        if pat.match(message):
            return pat.sub(rep, message)
    return message
