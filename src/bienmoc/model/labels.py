"""Column and value labels for tables: the ONE place a column name becomes a header.

A column that is a field of a layer takes the field's label from the schema
(:data:`bienmoc.model.layers.SCHEMAS`, ``Field.vi`` / ``Field.en``); pass the ``layer`` the
table's rows come from, because one name means different things in different layers ("kind" of
a marker is "Loại mốc", of a work "Loại công trình"). Columns computed by the analyses
(``distance_m``, ``days_idle`` ...) have their labels in :data:`DERIVED` below - the single
catalogue for them. The CLI tables, the XLSX/CSV exports and the report tables all call
:func:`column_label` / :func:`value_label`; a new derived column is one more line in
:data:`DERIVED` (``tests/test_cli_lang.py`` fails on a column shown with its raw name).
"""
from __future__ import annotations

from bienmoc.model.enums import _LABELS, GateStatus
from bienmoc.model.layers import SCHEMAS

__all__ = ["DERIVED", "VALUES", "column_label", "value_label", "enum_of", "table_labels",
           "in_lang", "catalogue"]


def in_lang(pair: tuple, lang: str):
    """The ``lang`` side of a ``(vi, en)`` pair: English for "en", else Vietnamese (every
    bilingual text of bienmoc is such a pair)."""
    vi, en = pair
    return en if lang == "en" else vi


def catalogue(texts: dict):
    """``t(key, lang, **kw)`` over ``texts`` (key -> (vi, en)): the text in ``lang``, with
    ``kw`` filled in by ``str.format`` when given (the small catalogues of maps, pages and
    reports)."""
    def t(key: str, lang: str, **kw):
        text = in_lang(texts[key], lang)
        return text.format(**kw) if kw and isinstance(text, str) else text

    return t

#: Labels of derived (computed) columns: name -> (vi, en).
DERIVED: dict[str, tuple[str, str]] = {
    # users (bienmoc users list)
    "role": ("Vai trò", "Role"),
    "created_at": ("Tạo lúc (UTC)", "Created (UTC)"),
    "disabled": ("Vô hiệu hóa", "Disabled"),
    "disabled_at": ("Vô hiệu hóa lúc (UTC)", "Disabled at (UTC)"),
    # terrain (terrain visibility, terrain risk)
    "border": ("Tuyến", "Border"),
    "relief_m": ("Chênh cao cục bộ (m)", "Local relief (m)"),
    "profile_curv": ("Độ cong mặt cắt (1/m)", "Profile curvature (1/m)"),
    "plan_curv": ("Độ cong mặt bằng (1/m)", "Plan curvature (1/m)"),
    "drainage_m": ("Cách đường tụ thủy (m)", "Distance to drainage (m)"),
    "index": ("Chỉ số nhạy cảm", "Susceptibility index"),
    "exposure": ("Mức phơi nhiễm sạt lở", "Landslide exposure"),
    "length_m": ("Chiều dài (m)", "Length (m)"),
    "high_m": ("Dài mức cao (m)", "High-exposure length (m)"),
    "high_share": ("Tỷ lệ mức cao", "High-exposure share"),
    "mean_index": ("Chỉ số trung bình", "Mean index"),
    "max_exposure": ("Mức cao nhất", "Highest class"),
    # locate
    "distance_m": ("Khoảng cách (m)", "Distance (m)"),
    "side": ("Phía", "Side"),
    "chainage_m": ("Lý trình (m)", "Chainage (m)"),
    "marker_before": ("Mốc trước", "Marker before"),
    "marker_after": ("Mốc sau", "Marker after"),
    "nearest_marker": ("Mốc gần nhất", "Nearest marker"),
    "nearest_marker_distance_m": ("Cách mốc gần nhất (m)", "Distance to nearest marker (m)"),
    "section_province": ("Tỉnh của đoạn biên giới", "Province of the section"),
    "location_vi": ("Vị trí", "Location"),
    "location_en": ("Vị trí", "Location"),
    # check (QA)
    "severity": ("Mức độ", "Severity"),
    "check": ("Kiểm tra", "Check"),
    "markers": ("Mốc", "Markers"),
    "value": ("Giá trị", "Value"),
    "message_vi": ("Nội dung", "Message"),
    "message_en": ("Nội dung", "Message"),
    # spacing, densify
    "marker_from": ("Từ mốc", "From marker"),
    "marker_to": ("Đến mốc", "To marker"),
    "chainage_from_m": ("Lý trình đầu (m)", "Chainage from (m)"),
    "chainage_to_m": ("Lý trình cuối (m)", "Chainage to (m)"),
    "spacing_m": ("Khoảng cách giữa hai mốc (m)", "Spacing (m)"),
    "lon": ("Kinh độ", "Longitude"),
    "lat": ("Vĩ độ", "Latitude"),
    "x": ("X", "X"),
    "y": ("Y", "Y"),
    "wkt": ("Hình học (WKT)", "Geometry (WKT)"),
    # lengths, hotspots
    "length_km": ("Chiều dài (km)", "Length (km)"),
    "official_km": ("Chiều dài chính thức (km)", "Official length (km)"),
    "difference_pct": ("Chênh lệch (%)", "Difference (%)"),
    "bin_start_km": ("Từ km", "From km"),
    "bin_end_km": ("Đến km", "To km"),
    "incidents": ("Số vụ việc", "Incidents"),
    # status
    "markers_total": ("Tổng số mốc", "Markers"),
    "markers_built": ("Mốc đã xây dựng", "Markers built"),
    "markers_under_construction": ("Mốc đang xây dựng", "Markers under construction"),
    "markers_planned": ("Mốc chưa xây dựng", "Markers planned"),
    "markers_large": ("Mốc đại", "Large markers"),
    "markers_medium": ("Mốc trung", "Medium markers"),
    "markers_small": ("Mốc tiểu", "Small markers"),
    "markers_parts": ("Mốc đôi, mốc ba (thành phần)", "Marker parts (double/triple)"),
    "stakes_total": ("Tổng số cọc dấu", "Stakes"),
    "stakes_built": ("Cọc dấu đã xây dựng", "Stakes built"),
    "needs_action": ("Mốc cần xử lý", "Needing action"),
    "gates_total": ("Tổng số cửa khẩu", "Gates"),
    "incidents_open": ("Vụ việc chưa xong", "Open incidents"),
    "summary_vi": ("Tóm tắt", "Summary"),
    "summary_en": ("Tóm tắt", "Summary"),
    "markers_built_total": ("Cột mốc (xây/tổng)", "Markers (built/total)"),
    "stakes_built_total": ("Cọc dấu (xây/tổng)", "Stakes (built/total)"),
    "gates_open_total": ("Cửa khẩu (mở/tổng)", "Gates (open/total)"),
    # progress
    "works_total": ("Tổng số", "Works"),
    "not_started": ("Chưa triển khai", "Not started"),
    "in_progress": ("Đang thực hiện", "In progress"),
    "stalled": ("Chậm tiến độ", "Stalled"),
    "completed": ("Đã hoàn thành", "Completed"),
    "percent_complete": ("Khối lượng hoàn thành (%)", "Percent complete"),
    "disbursed_pct": ("Tỷ lệ giải ngân (%)", "Disbursed (%)"),
    "section": ("Mốc / đoạn", "Marker / section"),
    "percent": ("Hoàn thành (%)", "Percent complete"),
    "last_update": ("Cập nhật gần nhất", "Last update"),
    "days_idle": ("Số ngày không cập nhật", "Days without update"),
    "days_overdue": ("Số ngày quá hạn", "Days overdue"),
    "work_status": ("Tiến độ", "Progress"),
    # inspections due, displaced
    "last_inspection": ("Kiểm tra gần nhất", "Last inspection"),
    "cycle_months": ("Chu kỳ (tháng)", "Cycle (months)"),
    "due_date": ("Hạn kiểm tra", "Due"),
    "never_inspected": ("Chưa kiểm tra lần nào", "Never inspected"),
    "is_due": ("Đến hạn kiểm tra", "Due"),
    "inspection_id": ("Mã kiểm tra", "Inspection"),
    "inspected": ("Ngày kiểm tra", "Inspected"),
    "condition_found": ("Tình trạng phát hiện", "Condition found"),
    "displacement_m": ("Độ xê dịch (m)", "Displacement (m)"),
    # history
    "date": ("Ngày", "Date"),
    "marker": ("Mốc", "Marker"),
    "event": ("Sự kiện", "Event"),
    "record_id": ("Mã bản ghi", "Record"),
    "description_vi": ("Nội dung", "Description"),
    "description_en": ("Nội dung", "Description"),
    # terrain
    "elevation_m": ("Độ cao (m)", "Elevation (m)"),
    "part": ("Đoạn", "Part"),
    "slope_deg": ("Độ dốc (°)", "Slope (°)"),
    "aspect_deg": ("Hướng dốc (°)", "Aspect (°)"),
    "visible": ("Thông hướng", "Intervisible"),
    "clearance_m": ("Độ hở nhỏ nhất (m)", "Least clearance (m)"),
    "obstruction_chainage_m": ("Lý trình điểm che (m)", "Obstruction chainage (m)"),
    "obstruction_lon": ("Kinh độ điểm che", "Obstruction longitude"),
    "obstruction_lat": ("Vĩ độ điểm che", "Obstruction latitude"),
    "too_far": ("Quá tầm nhìn", "Beyond range"),
    "stakes": ("Cọc đề xuất", "Proposed stakes"),
    "found": ("Tìm được", "Found"),
    # generic
    "layer": ("Lớp dữ liệu", "Layer"),
    "records": ("Số bản ghi", "Records"),
    "count": ("Số lượng", "Count"),
}
for _cond, (_vi, _en) in {"damaged": ("Hư hỏng", "Damaged"),
                          "displaced": ("Xê dịch", "Displaced"),
                          "destroyed": ("Bị phá hủy", "Destroyed"),
                          "missing": ("Bị mất", "Missing")}.items():
    DERIVED.setdefault(_cond, (_vi, _en))
for _m in GateStatus:
    DERIVED.setdefault(f"gates_{_m.value}", (f"Cửa khẩu {_m.vi}", f"Gates {_m.en}"))

#: Labels of the values of derived columns whose values are codes: column -> code -> (vi, en).
VALUES: dict[str, dict[str, tuple[str, str]]] = {
    "severity": {"error": ("lỗi", "error"), "warning": ("cảnh báo", "warning")},
    "check": {"duplicate": ("trùng số hiệu", "duplicate"),
              "wrong_border": ("sai tuyến", "wrong border"),
              "wrong_province": ("sai tỉnh", "wrong province"),
              "off_line": ("xa đường biên giới", "off the line"),
              "parts_same_side": ("thành phần cùng phía", "parts on one side"),
              "parts_too_far": ("thành phần quá xa nhau", "parts too far apart"),
              "parts_sides_swapped": ("thành phần đổi phía", "parts' sides swapped"),
              "out_of_order": ("sai thứ tự", "out of order"),
              "gap": ("thiếu số hiệu", "missing numbers")},
    "event": {"construction": ("xây dựng mốc", "construction"),
              "work": ("công trình", "work"),
              "progress": ("cập nhật tiến độ", "progress update"),
              "inspection": ("kiểm tra mốc", "inspection"),
              "resurvey": ("đo đạc lại vị trí", "resurvey")},
}

# commands merged after the catalogue: patrol coverage, viewshed, landslide risk, check --dem
DERIVED.update({k: v for k, v in {
    # coverage
    "start_m": ("Từ lý trình (m)", "From chainage (m)"),
    "end_m": ("Đến lý trình (m)", "To chainage (m)"),
    "km": ("Km", "Km"),
    "covered_share": ("Tỷ lệ đã tuần tra", "Share patrolled"),
    "unilateral_share": ("Tỷ lệ tuần tra đơn phương", "Share patrolled unilaterally"),
    "joint_share": ("Tỷ lệ tuần tra song phương", "Share patrolled jointly"),
    "last_visit": ("Lần tuần tra gần nhất", "Last patrolled"),
    "days_since_visit": ("Số ngày chưa tuần tra", "Days since patrolled"),
    "overdue": ("Quá hạn", "Overdue"),
    # terrain viewshed
    "length_in_radius_m": ("Dài trong bán kính (m)", "Length within radius (m)"),
    "visible_m": ("Dài nhìn thấy (m)", "Visible length (m)"),
    "visible_share": ("Tỷ lệ nhìn thấy", "Visible share"),
    # check --dem, terrain fill-elevations
    "recorded_m": ("Độ cao ghi nhận (m)", "Recorded elevation (m)"),
    "dem_m": ("Độ cao theo DEM (m)", "DEM elevation (m)"),
    "diff_m": ("Chênh lệch (m)", "Difference (m)"),
}.items() if k not in DERIVED})
VALUES["check"].setdefault("elevation_vs_dem", ("độ cao lệch DEM", "elevation off the DEM"))
for _col in ("exposure", "max_exposure"):  # terrain risk classes
    VALUES.setdefault(_col, {"low": ("thấp", "low"), "medium": ("trung bình", "medium"),
                             "high": ("cao", "high")})

#: Columns holding codes of an enum that is not a field of the table's layer.
_DERIVED_ENUMS = {"condition_found": "FoundCondition", "work_status": "WorkStatus"}


def _enum_by_name(name: str):
    for enum in _LABELS:
        if enum.__name__ == name:
            return enum
    return None


def _field(name: str, layer: str | None):
    if layer is not None and layer in SCHEMAS:
        try:
            return SCHEMAS[layer].field(name)
        except KeyError:
            return None
    return None


def _unambiguous_field(name: str):
    """The schema field ``name`` when every layer that has it gives it the same labels."""
    found = {}
    for schema in SCHEMAS.values():
        for f in schema.fields:
            if f.name == name:
                found[(f.vi, f.en)] = f
    return next(iter(found.values())) if len(found) == 1 else None


def column_label(name: str, lang: str, layer: str | None = None) -> str:
    """The header of column ``name`` in ``lang``: the field label of ``layer``'s schema, else
    the :data:`DERIVED` label, else a field label shared by every layer that has the field;
    else the name itself."""
    f = _field(name, layer)
    if f is None and name not in DERIVED:
        f = _unambiguous_field(name)
    if f is not None and (f.vi or f.en):
        return in_lang((f.vi, f.en), lang) or name
    if name in DERIVED:
        return in_lang(DERIVED[name], lang)
    return name


def enum_of(name: str, layer: str | None = None):
    """The enum class of column ``name`` (a field of ``layer``, or a derived enum column)."""
    f = _field(name, layer) or (None if layer else _unambiguous_field(name))
    if f is not None and f.is_enum:
        return f.type
    if name in _DERIVED_ENUMS:
        if name == "work_status":
            import bienmoc.analysis.progress  # noqa: F401  (registers WorkStatus's labels)
        return _enum_by_name(_DERIVED_ENUMS[name])
    return None


def value_label(name: str, value: object, lang: str, layer: str | None = None) -> object:
    """``value`` of column ``name`` as shown to a reader: an enum code as its label, a code of
    :data:`VALUES` as its label; anything else unchanged."""
    if not isinstance(value, str):
        return value
    if name in VALUES and value in VALUES[name]:
        return in_lang(VALUES[name][value], lang)
    enum = enum_of(name, layer)
    if enum is not None:
        try:
            member = enum(value)
        except ValueError:
            return value
        return member.en if lang == "en" else member.vi
    return value


def table_labels(columns, lang: str, layer: str | None = None) -> dict[str, str]:
    """{column: header} for a table's columns."""
    return {c: column_label(str(c), lang, layer) for c in columns}

