"""bienmoc's layers: every column with its type, limits and Vietnamese/English label.

This is the one source of field labels for the CLI, exports, maps and the API. A new layer is
one more entry in :data:`SCHEMAS` (and, if users import it, in :data:`IMPORTABLE`).
"""
from __future__ import annotations

from bienmoc.model.enums import (
    Arrangement, Condition, ConstructionStatus, DemarcationStatus, FoundCondition, GateKind,
    GateStatus, HomeSide, IncidentKind, IncidentStatus, InspectionTeam, MarkerKind, PatrolKind,
    WorkKind)
from bienmoc.model.fields import Field, LayerSchema

__all__ = ["SCHEMAS", "LAYERS", "IMPORTABLE"]

_BORDER = Field("border", "text", required=True, max_len=2, vi="Tuyến biên giới", en="Border")
_PROVINCE = Field("province", "text", max_len=100, vi="Tỉnh", en="Province")
_ID = Field("id", "text", max_len=64, vi="Mã", en="ID")
_NOTES = Field("notes", "text", max_len=4000, vi="Ghi chú", en="Notes")
#: Rules deliberately overridden when the record was entered (``rule: message`` naming the
#: measured value, several joined by `` | ``; see :mod:`bienmoc.records.rules`); empty for
#: records that passed every rule.
_OVERRIDES = Field("overrides", "text", max_len=2000, vi="Ngoại lệ được chấp nhận",
                   en="Overridden rules")

SCHEMAS: dict[str, LayerSchema] = {
    "boundary": LayerSchema(
        "boundary",
        (_BORDER,
         Field("name_vi", "text", required=True, max_len=200, vi="Tên", en="Name (vi)"),
         Field("name_en", "text", max_len=200, vi="Tên tiếng Anh", en="Name (en)"),
         Field("home_side", HomeSide, required=True, vi="Phía Việt Nam", en="Home side"),
         Field("official_length_km", "float", min=0, vi="Chiều dài chính thức (km)",
               en="Official length (km)")),
        ("LineString", "MultiLineString"), key=("border",), vi="Đường biên giới",
        en="Boundary line"),
    "markers": LayerSchema(
        "markers",
        (_ID,
         Field("number", "text", required=True, max_len=32, vi="Số hiệu mốc", en="Number"),
         _BORDER,
         Field("kind", MarkerKind, required=True, vi="Loại mốc", en="Kind"),
         Field("arrangement", Arrangement, required=True, vi="Hình thức", en="Arrangement"),
         Field("part", "int", min=1, max=3, vi="Thành phần", en="Part"),
         Field("tri_border", "bool", vi="Mốc ba biên giới", en="Tri-border"),
         _PROVINCE,
         Field("construction_status", ConstructionStatus, required=True,
               vi="Tình trạng xây dựng", en="Construction status"),
         Field("condition", Condition, required=True, vi="Tình trạng mốc", en="Condition"),
         Field("planned_date", "date", vi="Ngày dự kiến", en="Planned date"),
         Field("built_date", "date", vi="Ngày xây dựng xong", en="Built date"),
         Field("elevation_m", "float", min=-100, max=9000, vi="Độ cao (m)", en="Elevation (m)"),
         # surveyed VN-2000 coordinates: Vietnamese survey sheets call northing X and
         # easting Y, so the fields say which is which
         Field("vn2000_n", "float", vi="Tọa độ X – hướng Bắc (VN-2000)",
               en="Northing (VN-2000)"),
         Field("vn2000_e", "float", vi="Tọa độ Y – hướng Đông (VN-2000)",
               en="Easting (VN-2000)"),
         Field("vn2000_crs", "text", max_len=20, vi="Hệ tọa độ VN-2000", en="VN-2000 CRS"),
         _NOTES, _OVERRIDES),
        ("Point",), key=("border", "number"), id_prefix="M", vi="Cột mốc", en="Markers"),
    "gates": LayerSchema(
        "gates",
        (_ID,
         Field("name", "text", required=True, max_len=200, vi="Tên cửa khẩu", en="Name"),
         Field("paired_gate", "text", max_len=200, vi="Cửa khẩu đối diện", en="Paired gate"),
         _BORDER, _PROVINCE,
         Field("kind", GateKind, required=True, vi="Loại", en="Kind"),
         Field("status", GateStatus, required=True, vi="Trạng thái", en="Status"),
         Field("opened_date", "date", vi="Ngày mở", en="Opened"),
         Field("status_date", "date", vi="Ngày trạng thái", en="Status since"),
         _NOTES, _OVERRIDES),
        ("Point",), id_prefix="G", vi="Cửa khẩu", en="Gates"),
    "works": LayerSchema(
        "works",
        (_ID,
         Field("title", "text", required=True, max_len=300, vi="Hạng mục", en="Title"),
         Field("kind", WorkKind, required=True, vi="Loại công trình", en="Kind"),
         _BORDER,
         Field("marker_from", "text", required=True, max_len=32, vi="Mốc", en="Marker"),
         Field("marker_to", "text", max_len=32, vi="Đến mốc", en="To marker"),
         _PROVINCE,
         Field("planned_start", "date", vi="Khởi công dự kiến", en="Planned start"),
         Field("planned_end", "date", vi="Hoàn thành dự kiến", en="Planned end"),
         Field("actual_start", "date", vi="Khởi công thực tế", en="Actual start"),
         Field("actual_end", "date", vi="Hoàn thành thực tế", en="Actual end"),
         Field("budget_planned_vnd", "float", min=0, vi="Kinh phí kế hoạch (đồng)",
               en="Budget planned (VND)"),
         Field("budget_disbursed_vnd", "float", min=0, vi="Đã giải ngân (đồng)",
               en="Disbursed (VND)"),
         Field("contractor", "text", max_len=200, vi="Đơn vị thi công", en="Contractor"),
         _NOTES),
        ("Point", "LineString", "MultiLineString", "Polygon", "MultiPolygon"),
        geometry_required=False, id_prefix="W", vi="Công trình", en="Works"),
    "inspections": LayerSchema(
        "inspections",
        (_ID,
         Field("date", "date", required=True, vi="Ngày kiểm tra", en="Date"),
         _BORDER,
         Field("marker", "text", required=True, max_len=32, vi="Mốc", en="Marker"),
         Field("team", InspectionTeam, required=True, vi="Hình thức", en="Team"),
         Field("condition", FoundCondition, required=True, vi="Tình trạng", en="Condition"),
         Field("notes", "text", max_len=4000, vi="Ghi chú", en="Notes"),
         Field("photos", "text", max_len=2000, vi="Ảnh", en="Photos"),
         Field("corrects", "text", max_len=64, vi="Đính chính bản ghi", en="Corrects"),
         _OVERRIDES),
        ("Point",), geometry_required=False, id_prefix="I", vi="Kiểm tra mốc",
        en="Inspections"),
    "incidents": LayerSchema(
        "incidents",
        (_ID,
         Field("kind", IncidentKind, required=True, vi="Loại vụ việc", en="Kind"),
         Field("status", IncidentStatus, required=True, vi="Trạng thái", en="Status"),
         _BORDER, _PROVINCE,
         Field("occurred_date", "date", vi="Ngày xảy ra", en="Occurred"),
         Field("reported_date", "date", required=True, vi="Ngày phát hiện", en="Reported"),
         Field("description", "text", max_len=4000, vi="Mô tả", en="Description"),
         # where it is on the line, derived from the position by the write path
         # (records.recording._fill_incident_place) at every door; given values are replaced
         Field("side", "text", max_len=2, vi="Phía", en="Side"),
         Field("chainage_m", "float", min=0, vi="Lý trình (m)", en="Chainage (m)"),
         Field("distance_m", "float", min=0, vi="Cách đường biên (m)",
               en="Distance to the line (m)"),
         Field("marker_before", "text", max_len=32, vi="Giữa mốc", en="Between marker"),
         Field("marker_after", "text", max_len=32, vi="và mốc", en="and marker"),
         _OVERRIDES),
        ("Point", "Polygon", "MultiPolygon"), id_prefix="V", vi="Vụ việc", en="Incidents"),
    "work_progress": LayerSchema(
        "work_progress",
        (_ID,
         Field("work_id", "text", required=True, max_len=64, vi="Mã công trình", en="Work"),
         Field("date", "date", required=True, vi="Ngày cập nhật", en="Date"),
         Field("percent", "float", required=True, min=0, max=100, vi="Khối lượng hoàn thành (%)",
               en="Percent complete"),
         Field("disbursed_vnd", "float", min=0, vi="Lũy kế giải ngân (đồng)",
               en="Disbursed to date (VND)"),
         Field("note", "text", max_len=2000, vi="Ghi chú", en="Note"),
         Field("corrects", "text", max_len=64, vi="Đính chính bản ghi", en="Corrects"),
         _OVERRIDES),
        (), geometry_required=False, id_prefix="P", vi="Tiến độ công trình",
        en="Work progress"),
    "resurveys": LayerSchema(
        "resurveys",
        (_ID,
         Field("date", "date", required=True, vi="Ngày đo lại", en="Date"),
         _BORDER,
         Field("marker", "text", required=True, max_len=32, vi="Mốc", en="Marker"),
         Field("previous_wkt", "text", required=True, max_len=200, vi="Vị trí cũ",
               en="Previous position"),
         Field("reason", "text", required=True, max_len=2000, vi="Lý do", en="Reason"),
         Field("surveyor", "text", max_len=200, vi="Đơn vị đo đạc", en="Surveyor"),
         _OVERRIDES),
        ("Point",), id_prefix="R", vi="Đo đạc lại vị trí mốc", en="Resurveys"),
    # a patrol: who walked, alone or with the neighbour, when; its geometry is the track
    # simplified for maps, the GPS fixes themselves are kept in "patrol_fixes"
    "patrols": LayerSchema(
        "patrols",
        (_ID,
         Field("team", "text", required=True, max_len=200, vi="Tổ tuần tra", en="Team"),
         Field("unit", "text", max_len=200, vi="Đồn biên phòng", en="Unit (border post)"),
         Field("kind", PatrolKind, required=True, vi="Hình thức tuần tra", en="Kind"),
         Field("neighbour_unit", "text", max_len=200, vi="Lực lượng phía bạn",
               en="Neighbour's unit"),
         _BORDER,
         Field("start_time", "datetime", required=True, vi="Bắt đầu", en="Start"),
         Field("end_time", "datetime", required=True, vi="Kết thúc", en="End"),
         Field("fixes", "int", min=0, vi="Số điểm GPS", en="GPS fixes"),
         Field("length_m", "float", min=0, vi="Chiều dài hành trình (m)", en="Track length (m)"),
         Field("source", "text", max_len=500, vi="Tệp nguồn", en="Source file"),
         _NOTES, _OVERRIDES),
        ("LineString", "MultiLineString"), id_prefix="T", vi="Tuần tra", en="Patrols"),
    # the GPS fixes of each patrol, in order (seq); written with their patrol (see
    # bienmoc.io.tracks), vectorised checks there: no per-row validation of millions of rows
    "patrol_fixes": LayerSchema(
        "patrol_fixes",
        (Field("patrol_id", "text", required=True, max_len=64, vi="Mã tuần tra", en="Patrol"),
         Field("seq", "int", required=True, min=0, vi="Thứ tự", en="Sequence"),
         Field("time", "datetime", required=True, vi="Thời điểm", en="Time"),
         Field("lon", "float", required=True, min=-180, max=180, vi="Kinh độ",
               en="Longitude"),
         Field("lat", "float", required=True, min=-90, max=90, vi="Vĩ độ", en="Latitude")),
        (), geometry_required=False, key=("patrol_id", "seq"), vi="Điểm GPS tuần tra",
        en="Patrol GPS fixes"),
    "provinces": LayerSchema(
        "provinces",
        (Field("name", "text", required=True, max_len=100, vi="Tỉnh", en="Province"),
         Field("code", "text", max_len=20, vi="Mã", en="Code")),
        ("Polygon", "MultiPolygon"), key=("name",), vi="Tỉnh biên giới",
        en="Border provinces"),
    # Sections of a border line by demarcation status: chainage intervals along the stored
    # line (the chainage of bienmoc.geometry.locate: metres from the line's start, gaps
    # between parts not counted). The geometry is derived from the chainage at entry.
    "line_sections": LayerSchema(
        "line_sections",
        (_ID, _BORDER, _PROVINCE,
         Field("from_m", "float", required=True, min=0, vi="Từ lý trình (m)",
               en="From chainage (m)"),
         Field("to_m", "float", required=True, min=0, vi="Đến lý trình (m)",
               en="To chainage (m)"),
         Field("status", DemarcationStatus, required=True, vi="Tình trạng phân giới",
               en="Demarcation status"),
         Field("document", "text", max_len=500, vi="Văn bản pháp lý", en="Document"),
         _NOTES, _OVERRIDES),
        ("LineString", "MultiLineString"), geometry_required=False, id_prefix="S",
        vi="Đoạn biên giới theo tình trạng phân giới", en="Line sections"),
}

#: Layers every store holds, in dependency order.
LAYERS: tuple[str, ...] = tuple(SCHEMAS)
#: Kinds accepted by ``bienmoc import`` / ``export``.
IMPORTABLE: tuple[str, ...] = ("boundary", "markers", "gates", "works", "inspections",
                               "incidents", "work_progress", "provinces", "line_sections")
