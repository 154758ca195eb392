"""``--help`` in one language: Vietnamese by default, English with ``--lang en`` /
``BIENMOC_LANG=en``.

click reads a command's help when the command is defined, in one language. Here the help is
picked when it is *shown*: every command of the tree gets :class:`LangContext` as its context
class (:func:`install`, called by the root group before it parses anything), whose
:meth:`LangContext.get_help` puts the texts of the reader's language on the command, its options
and its sub-commands for the time of the formatting, then puts the originals back, and formats
with :class:`ViHelpFormatter`, which also translates click's own words ("Usage", "Options",
"[default: ...]", "Show this message and exit.").

Where the texts come from:

* English: the command's docstring and the options' ``help=`` (as usual with click); an option
  without ``help=`` takes the English of :data:`HELP`.
* Vietnamese: :data:`HELP`, keyed by the command path without ``bienmoc`` (``"status"``,
  ``"inspections due"``) for the command, by ``"<path> <longest option name>"``
  (``"status --border"``) for an option, or by the option name alone (``"--format"``) for an
  option that means the same in every command. Values are ``(vi, en)``; ``en`` may be ``None``
  when the English is in the code.

A new command adds its Vietnamese texts next to its code: ``HELP.update({"report": ("...",
None), "report --period": ("...", None)})``. ``tests/test_cli_lang.py`` renders ``--help`` of
every command in both languages and fails on a command or option whose Vietnamese is missing.
"""
from __future__ import annotations

import os
import re

import click

__all__ = ["HELP", "LangContext", "ViHelpFormatter", "install", "help_key", "text_for",
           "argv_lang"]

#: Help texts: key -> (vi, en or None: the English is the code's own help).
HELP: dict[str, tuple[str, str | None]] = {
    # the root group and its global options
    "": ("bienmoc - quản lý đường biên giới, cột mốc, cửa khẩu, công trình và vụ việc.",
         "bienmoc - manage the land border: boundary lines, markers, gates, works and "
         "incidents."),
    "--store": ("Kho dữ liệu (mặc định: $BIENMOC_STORE, nếu không có thì kho dữ liệu mẫu của "
                "người dùng).", None),
    "--user": ("Tên ghi vào nhật ký của kho cho các thao tác ghi của bạn (mặc định: "
               "$BIENMOC_USER, nếu không có thì tên đăng nhập).", None),
    "--lang": ("Ngôn ngữ của trợ giúp, bảng và thông báo: vi (tiếng Việt) hoặc en (tiếng Anh) "
               "(mặc định: $BIENMOC_LANG, nếu không có thì vi).", None),
    # options shared by many commands
    "--border": ("Chỉ tuyến biên giới này: CN (Trung Quốc), LA (Lào), KH (Campuchia).",
                 "Only this border: CN (China), LA (Laos), KH (Cambodia)."),
    "--province": ("Chỉ tỉnh này.", "Only this province."),
    "--format": ("Định dạng kết quả: table = bảng để đọc; json, csv = dữ liệu cho chương trình "
                 "(tên trường, mã, ngày ISO, không đổi theo ngôn ngữ); xlsx = bảng tính (cần "
                 "--output).",
                 "Output format: table = a table to read; json, csv = data for scripts (field "
                 "names, codes, ISO dates, whatever the language); xlsx = a spreadsheet (needs "
                 "--output)."),
    "--output": ("Tệp kết quả (mặc định: in ra màn hình; bắt buộc với xlsx).",
                 "Output file (default: standard output; required for xlsx)."),
    "--crs": ("Hệ tọa độ của FILE khi tệp không khai báo, ví dụ EPSG:3405 (VN-2000 / UTM 48N).",
              None),
    "--xy": ("Thứ tự cột x/y trong CSV/XLSX; sổ đo đạc VN-2000 ghi X = hướng Bắc, Y = hướng "
             "Đông: northing,easting.", None),
    "--metric-crs": ("Hệ tọa độ phẳng (mét) để tính khoảng cách (mặc định UTM 48N/49N), ví dụ "
                     "EPSG:9206.", None),
    "--allow": ("Cho phép ngoại lệ một quy tắc trong trường hợp thật sự đặc biệt (far, border, "
                "side, parts, province, displacement, resurvey_far, future_date, date_order, "
                "before_existence); được lưu cùng bản ghi và ghi nhật ký.", None),
    "--as-of": ("Tính đến ngày này (mặc định hôm nay); YYYY-MM-DD hoặc dd/mm/yyyy.",
                "Compute as of this date (default today); YYYY-MM-DD or dd/mm/yyyy."),
    "--by": ("Các trường để nhóm, cách nhau bởi dấu phẩy.",
             "Comma-separated fields to group by."),
    "--date": ("Ngày, YYYY-MM-DD hoặc dd/mm/yyyy.", "Date, YYYY-MM-DD or dd/mm/yyyy."),
    "--lon": ("Kinh độ (EPSG:4326).", "Longitude (EPSG:4326)."),
    "--lat": ("Vĩ độ (EPSG:4326).", "Latitude (EPSG:4326)."),
    "--corrects": ("Mã bản ghi mà bản ghi này đính chính.", None),
    "--dem": ("Mô hình số độ cao (DEM): raster hoặc VRT bất kỳ GDAL đọc được, hệ tọa độ bất kỳ "
              "(mặc định $BIENMOC_DEM).", None),
    "--method": ("Cách nội suy giữa các tâm ô lưới.", None),
    "--slope": ("Thêm độ dốc slope_deg và hướng dốc aspect_deg (phương pháp Horn, như "
                "gdaldem).", None),
    "--from-km": ("Lý trình đầu (km).", "Start chainage (km)."),
    "--to-km": ("Lý trình cuối (km).", "End chainage (km)."),
    # status
    "status": ("Tình trạng cột mốc theo nhóm: số mốc và cọc dấu đã xây/tổng số, tình trạng mốc, "
               "cửa khẩu, vụ việc.", None),
    "status --by": ("Các trường của cột mốc để nhóm, cách nhau bởi dấu phẩy ('' cho một dòng "
                    "tổng).", None),
    # import / export / layers
    "import": ("Nhập tệp FILE (GeoJSON, GeoPackage, Shapefile, CSV, XLSX) vào lớp KIND, nhập "
               "tất cả hoặc không nhập gì.", None),
    "import --crs": ("Hệ tọa độ nguồn khi tệp không khai báo (CSV x/y), ví dụ EPSG:3405.",
                     None),
    "import --encoding": ("Bảng mã của tệp CSV (mặc định UTF-8).", None),
    "import --mode": ("Thêm vào lớp (append) hay thay thế lớp (replace).", None),
    "import --layer": ("Lớp (hoặc trang tính XLSX) cần đọc trong tệp có nhiều lớp.", None),
    "export": ("Xuất lớp KIND ra GeoJSON, GeoPackage, Shapefile (zip), CSV hoặc XLSX.", None),
    "export --format": ("Định dạng tệp (mặc định: theo đuôi tệp của --output, nếu không có "
                        "thì geojson).", None),
    "export --output": ("Tệp kết quả (mặc định: in ra màn hình).", None),
    "export --labels": ("Tiêu đề cột và giá trị trong CSV/XLSX: mã trường (codes) hoặc nhãn "
                        "tiếng Việt (vi) / tiếng Anh (en) (mặc định: nhãn theo ngôn ngữ của "
                        "lệnh với XLSX, mã trường với CSV).", None),
    "export --crs": ("Ghi tọa độ theo hệ tọa độ này (mặc định EPSG:4326), ví dụ EPSG:9206 cho "
                     "cột mốc theo VN-2000 / TM-3 104°.", None),
    "layers": ("Liệt kê các lớp dữ liệu trong kho và số bản ghi của từng lớp.", None),
    # analysis
    "locate": ("Định vị các đối tượng của tệp FILE: tuyến, khoảng cách, phía, lý trình, mốc "
               "gần nhất, tỉnh.", None),
    "check": ("Kiểm tra chất lượng dữ liệu cột mốc; mã thoát 1 khi có lỗi. Khi có DEM (--dem "
              "hoặc $BIENMOC_DEM) còn cảnh báo các mốc có độ cao ghi nhận lệch DEM quá "
              "--elevation-tolerance.", None),
    "check --dem": ("So sánh thêm độ cao ghi nhận của mốc với DEM này (hoặc $BIENMOC_DEM).",
                    None),
    "check --elevation-tolerance": ("Cảnh báo độ cao ghi nhận lệch DEM quá M mét.", None),
    "check --tolerance": ("Dung sai khoảng cách tới đường biên giới theo loại mốc, ví dụ "
                          "--tolerance small=3.", None),
    "check --max-part-spacing": ("Khoảng cách tối đa (m) giữa các thành phần của mốc đôi/mốc "
                                 "ba.", None),
    "spacing": ("Khoảng cách dọc đường biên giới giữa hai mốc liền nhau; với --max-spacing: "
                "đề xuất cọc dấu cho các đoạn dài (GeoJSON các điểm đề xuất với --format "
                "geojson).", None),
    "spacing --max-spacing": ("Liệt kê các đoạn dài hơn M mét kèm cọc dấu đề xuất.", None),
    "lengths": ("Chiều dài đường biên giới (km) theo nước láng giềng hoặc theo tỉnh, kèm số "
                "liệu chính thức khi có.", None),
    "lengths --by": ("Nhóm theo tuyến (border) hoặc theo tỉnh (province).",
                     "Group by border or by province."),
    "hotspots": ("Số vụ việc theo từng đoạn lý trình dọc đường biên giới, nhiều nhất trước.",
                 None),
    "hotspots --bin": ("Chiều dài mỗi đoạn (m).", None),
    "hotspots --from": ("Từ ngày này (tính cả ngày này).", None),
    "hotspots --to": ("Đến ngày này (tính cả ngày này).", None),
    "hotspots --kind": ("Chỉ các loại vụ việc này (mã, hoặc nhãn tiếng Việt/tiếng Anh).", None),
    "hotspots --top": ("Số đoạn được liệt kê.", "Number of bins listed."),
    # progress, inspections, history
    "progress": ("Tiến độ công trình tính đến một ngày: số lượng theo trạng thái, khối lượng, "
                 "kinh phí và công trình chậm tiến độ.", None),
    "progress --by": ("Các trường để nhóm, cách nhau bởi dấu phẩy.", None),
    "progress --stall-days": ("Số ngày không cập nhật tiến độ thì công trình bị coi là chậm "
                              "tiến độ (180).", None),
    "inspections": ("Kiểm tra cột mốc: mốc đến hạn kiểm tra, mốc bị xê dịch.", None),
    "inspections due": ("Mốc đến hạn (hoặc chưa từng) kiểm tra và mốc xê dịch quá dung sai.",
                        None),
    "inspections due --cycle": ("Chu kỳ kiểm tra theo loại mốc (mặc định large=12, các loại "
                                "khác 24 tháng).", None),
    "inspections due --tolerance": ("Độ xê dịch (m) vượt quá thì mốc được liệt kê là xê "
                                     "dịch.", None),
    "history": ("Toàn bộ lịch sử của một mốc: xây dựng, công trình, tiến độ, kiểm tra, đo đạc "
                "lại.", None),
    # record
    "record": ("Ghi cập nhật tiến độ, kết quả kiểm tra, đo đạc lại và vụ việc (có kiểm tra, "
               "chỉ thêm, không sửa).", None),
    "record progress": ("Thêm một lần cập nhật tiến độ của công trình WORK_ID.", None),
    "record progress --percent": ("Khối lượng hoàn thành (%).", "Percent complete."),
    "record progress --note": ("Ghi chú.", "Note."),
    "record progress --disbursed": ("Lũy kế giải ngân (đồng).", None),
    "record inspection": ("Thêm một kết quả kiểm tra mốc MARKER.", None),
    "record inspection --border": ("Tuyến biên giới của mốc: CN, LA, KH.",
                                   "Border of the marker: CN, LA, KH."),
    "record inspection --team": ("Hình thức kiểm tra: đơn phương / song phương (hoặc mã "
                                 "unilateral / joint).", None),
    "record inspection --condition": ("Tình trạng mốc: tốt / hư hỏng / xê dịch / bị phá hủy / "
                                      "bị mất (hoặc mã good / damaged / displaced / destroyed "
                                      "/ missing).", None),
    "record inspection --lon": ("Kinh độ đo được (EPSG:4326).", None),
    "record inspection --lat": ("Vĩ độ đo được (EPSG:4326).", None),
    "record inspection --notes": ("Ghi chú.", "Notes."),
    "record inspection --photos": ("Tham chiếu ảnh, cách nhau bởi ';'.", None),
    "record resurvey": ("Dời vị trí đăng ký của mốc MARKER sau khi đo đạc lại (vị trí cũ được "
                        "lưu lại).", None),
    "record resurvey --border": ("Tuyến biên giới của mốc: CN, LA, KH.",
                                 "Border of the marker: CN, LA, KH."),
    "record resurvey --lon": ("Kinh độ mới đo (EPSG:4326).", "New longitude (EPSG:4326)."),
    "record resurvey --lat": ("Vĩ độ mới đo (EPSG:4326).", "New latitude (EPSG:4326)."),
    "record resurvey --reason": ("Lý do đo đạc lại.", "Reason for the resurvey."),
    "record resurvey --surveyor": ("Đơn vị đo đạc.", "Surveyor."),
    "record incident": ("Thêm một vụ việc tại LON/LAT.", None),
    "record incident --kind": ("Loại vụ việc (mã hoặc nhãn tiếng Việt).", None),
    "record incident --reported": ("Ngày phát hiện (mặc định hôm nay).", None),
    "record incident --occurred": ("Ngày xảy ra.", "Date it occurred."),
    "record incident --border": ("Tuyến biên giới (mặc định: đường biên giới gần nhất).", None),
    "record incident --province": ("Tỉnh (mặc định: tỉnh tại vị trí đó).", None),
    "record incident --description": ("Mô tả.", "Description."),
    # serve
    "serve": ("Chạy máy chủ bản đồ (FastAPI) tại HOST:PORT.", None),
    "serve --host": ("Địa chỉ máy chủ.", "Host address to listen on."),
    "serve --port": ("Cổng.", "Port."),
    "serve --store": ("Kho dữ liệu cần phục vụ (giống --store chung).", None),
    # terrain
    "terrain": ("Địa hình dọc biên giới từ DEM của người dùng: độ cao, mặt cắt, độ dốc, thông "
                "hướng.", "Terrain along the border from the user's DEM: elevations, "
                "profiles, slopes, intervisibility."),
    "terrain elevation": ("Thêm độ cao elevation_m (từ DEM) cho các điểm của tệp FILE, giữ "
                          "nguyên thuộc tính.", None),
    "terrain profile": ("Độ cao sau mỗi STEP m lý trình dọc một tuyến biên giới, kèm lý trình "
                        "các mốc.\n\nMỗi dòng: chainage_m, lon, lat, elevation_m, part, marker; "
                        "một dòng cho mỗi điểm lấy mẫu (marker để trống) và một dòng cho mỗi "
                        "mốc tại lý trình của mốc. Khoảng hở giữa các đoạn của đường biên giới "
                        "không có lý trình và không được lấy mẫu (part đếm các đoạn).", None),
    "terrain profile --border": ("Tuyến biên giới: CN, LA, KH.", None),
    "terrain profile --step": ("Số mét lý trình giữa hai điểm lấy mẫu.", None),
    "terrain profile --slope": ("Thêm độ dốc slope_deg và hướng dốc aspect_deg của mỗi điểm.",
                                None),
    "terrain visibility": ("Thông hướng giữa hai mốc liền nhau (theo thứ tự số hiệu) trên "
                           "DEM.\n\nMỗi dòng: marker_from, marker_to, distance_m, visible, "
                           "clearance_m (độ cao nhỏ nhất của tia ngắm trên mặt đất, âm khi bị "
                           "che), điểm che nhất (lý trình, kinh độ, vĩ độ), too_far, và cọc "
                           "dấu đề xuất trên đường biên giới khi hai mốc không thông hướng. "
                           "Có tính độ cong Trái Đất và khúc xạ (k = 0,13): độ sụt = d1 d2 "
                           "(1 - k) / (2 R).", None),
    "terrain visibility --border": ("Tuyến biên giới: CN, LA, KH.", None),
    "terrain visibility --observer-height": ("Chiều cao mắt người quan sát (m) trên mặt đất "
                                             "tại mốc thứ nhất.", None),
    "terrain visibility --target-height": ("Chiều cao mục tiêu (m) trên mặt đất tại mốc tiếp "
                                           "theo.", None),
    "terrain visibility --max-range": ("Các cặp mốc xa nhau hơn (m) được đánh dấu.", None),
    # strip
    "strip": ("Sơ đồ duỗi thẳng một đoạn biên giới: mốc, cọc dấu, cửa khẩu, công trình, vụ "
              "việc theo lý trình.", None),
    "strip --border": ("Tuyến biên giới: CN, LA, KH.", None),
    "strip --as-of": ("Trạng thái công trình tính đến ngày này (mặc định hôm nay).", None),
    "strip --output": ("Tệp kết quả: strip.svg hoặc strip.png.", None),
}

#: click's own texts in Vietnamese (usage line, headings, option extras).
CLICK_VI = {
    "Usage: ": "Cách dùng: ",
    "Options": "Tùy chọn",
    "Commands": "Lệnh",
    "Arguments": "Đối số",
    "Show this message and exit.": "Hiện hướng dẫn này rồi thoát.",
    "Show the version and exit.": "Hiện phiên bản rồi thoát.",
    "[OPTIONS]": "[TÙY_CHỌN]",
    "COMMAND [ARGS]...": "LỆNH [ĐỐI_SỐ]...",
}
#: click's names of option value types, as shown after an option in the help.
_TYPES_VI = [(re.compile(rf"(?<=[ =]){en}(?=$|\s)"), vi) for en, vi in (
    ("FLOAT RANGE", "SỐ"), ("INTEGER RANGE", "SỐ_NGUYÊN"), ("FLOAT", "SỐ"),
    ("INTEGER", "SỐ_NGUYÊN"), ("TEXT", "VĂN_BẢN"), ("DATE", "NGÀY"), ("FILE", "TỆP"),
    ("PATH", "ĐƯỜNG_DẪN"))]
_EXTRA = [(re.compile(r"\[default: "), "[mặc định: "), (re.compile(r"\[required\]"), "[bắt buộc]"),
          (re.compile(r"; required\]"), "; bắt buộc]"), (re.compile(r"default: "), "mặc định: ")]


def argv_lang(args) -> str | None:
    """The ``--lang`` given on the command line (before click parses it), if any."""
    args = list(args)
    for i, a in enumerate(args):
        if a == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if isinstance(a, str) and a.startswith("--lang="):
            return a.partition("=")[2]
    return None


def _lang(ctx: click.Context) -> str:
    obj = ctx.find_root().obj or {}
    lang = obj.get("lang") or os.environ.get("BIENMOC_LANG")
    return "en" if lang == "en" else "vi"


def help_key(ctx: click.Context, name: str | None = None) -> str:
    """The catalogue key of the command of ``ctx`` (or of its sub-command ``name``)."""
    parts = ctx.command_path.split()[1:]
    if name:
        parts.append(name)
    return " ".join(parts)


def text_for(key: str, option: str | None, lang: str, code_help: str | None) -> str | None:
    """The help of a command (``option`` None) or of one of its options in ``lang``."""
    keys = [f"{key} {option}".strip(), option] if option else [key]
    for k in keys:
        if k is not None and k in HELP:
            vi, en = HELP[k]
            if lang == "vi":
                return vi
            return code_help or en
    return code_help


class ViHelpFormatter(click.HelpFormatter):
    """click's formatter with click's own words in Vietnamese."""

    def write_usage(self, prog, args="", prefix=None):
        for en, vi in CLICK_VI.items():
            args = args.replace(en, vi)
        super().write_usage(prog, args, CLICK_VI["Usage: "] if prefix is None else prefix)

    def write_heading(self, heading):
        super().write_heading(CLICK_VI.get(heading, heading))

    def write_dl(self, rows, col_max=30, col_spacing=2):
        out = []
        for first, second in rows:
            for pat, rep in _TYPES_VI:
                first = pat.sub(rep, first)
            second = CLICK_VI.get(second, second)
            for pat, rep in _EXTRA:
                second = pat.sub(rep, second)
            out.append((first, second))
        super().write_dl(out, col_max, col_spacing)


class LangContext(click.Context):
    """A context whose ``--help`` is in the reader's language (see the module docstring)."""

    def make_formatter(self):
        if _lang(self) == "vi":
            return ViHelpFormatter(width=self.terminal_width, max_width=self.max_content_width)
        return super().make_formatter()

    def get_help(self) -> str:
        lang, cmd = _lang(self), self.command
        key = help_key(self)
        saved = []

        def put(obj, attr, value):
            saved.append((obj, attr, getattr(obj, attr)))
            setattr(obj, attr, value)

        try:
            put(cmd, "help", text_for(key, None, lang, cmd.help))
            for p in cmd.params:
                if isinstance(p, click.Option):
                    name = max(p.opts, key=len)
                    put(p, "help", text_for(key, name, lang, p.help))
            if isinstance(cmd, click.Group):
                for name, sub in cmd.commands.items():
                    put(sub, "help", text_for(help_key(self, name), None, lang, sub.help))
                    put(sub, "short_help", None if lang == "vi" else sub.short_help)
            return super().get_help()
        finally:
            for obj, attr, value in reversed(saved):
                setattr(obj, attr, value)


def install(cmd: click.Command) -> None:
    """Give ``cmd`` and every command below it :class:`LangContext` (idempotent)."""
    if not issubclass(cmd.context_class, LangContext):
        cmd.context_class = LangContext
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            install(sub)
