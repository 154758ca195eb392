"""Every label of the maps, in Vietnamese and English; enum labels come from the schema."""
from __future__ import annotations

from bienmoc.geometry.locate import NEIGHBOURS
from bienmoc.model.labels import column_label
from bienmoc.analysis.progress import WorkStatus
from bienmoc.model.schema import (SCHEMAS, ConstructionStatus, Condition, DemarcationStatus,
                                 GateKind, GateStatus, IncidentKind, IncidentStatus, MarkerKind,
                                 WorkKind, label)

__all__ = ["T", "t", "js_labels", "border_name"]

#: Texts of the pages: {key: {"vi": ..., "en": ...}}.
T: dict[str, dict[str, str]] = {
    # titles and layers
    "index_title": {"vi": "bienmoc – bản đồ biên giới", "en": "bienmoc – border maps"},
    "overview_title": {"vi": "Bản đồ tổng quan biên giới đất liền", "en": "Land border overview"},
    "progress_title": {"vi": "Tiến độ xây dựng mốc và công trình",
                       "en": "Construction progress of markers and works"},
    "incidents_title": {"vi": "Vụ việc vi phạm trên biên giới", "en": "Border incidents"},
    "overview_link": {"vi": "Bản đồ tổng quan", "en": "Overview map"},
    "progress_link": {"vi": "Bản đồ tiến độ xây dựng", "en": "Construction progress map"},
    "incidents_link": {"vi": "Bản đồ vụ việc, vi phạm", "en": "Incidents map"},
    "overview_about": {"vi": "đường biên giới, tỉnh biên giới, cột mốc theo tình trạng, cửa khẩu",
                       "en": "boundary lines, border provinces, markers by status, border gates"},
    "progress_about": {"vi": "cột mốc theo tình trạng xây dựng và tình trạng mốc; công trình "
                             "(chậm tiến độ được làm nổi bật); mốc quá hạn kiểm tra",
                       "en": "markers by construction status and condition; works (stalled "
                             "ones highlighted); markers overdue for inspection"},
    "incidents_about": {"vi": "vụ việc theo loại và trạng thái, gom cụm, bản đồ nhiệt, "
                              "vị trí so với đường biên giới",
                        "en": "incidents by kind and status, clustered, heat map, position "
                              "relative to the boundary line"},
    "strip_link": {"vi": "Sơ đồ duỗi thẳng đoạn biên giới",
                   "en": "Strip map of a border section"},
    "strip_about": {"vi": "mốc theo số hiệu, cọc dấu, cửa khẩu, công trình, vụ việc theo lý trình",
                    "en": "markers by number, stakes, gates, works, incidents along the chainage"},
    "api_about": {"vi": "số liệu tình trạng mốc (JSON)", "en": "marker status figures (JSON)"},
    "docs_about": {"vi": "tài liệu API (thử trực tiếp các thao tác)",
                   "en": "API documentation (try the operations)"},
    "collections_about": {"vi": "các lớp dữ liệu theo chuẩn OGC API – Features (GeoJSON)",
                          "en": "the data layers as OGC API – Features (GeoJSON)"},
    "tiles": {"vi": "Bản đồ nền", "en": "Base map"},
    "provinces": {"vi": "Tỉnh biên giới", "en": "Border provinces"},
    "neighbours": {"vi": "Nước láng giềng", "en": "Neighbouring countries"},
    "boundary": {"vi": "Đường biên giới", "en": "Boundary line"},
    "sections": {"vi": "Tình trạng phân giới cắm mốc", "en": "Demarcation status"},
    "markers": {"vi": "Cột mốc", "en": "Markers"},
    "gates": {"vi": "Cửa khẩu", "en": "Border gates"},
    "overdue": {"vi": "Mốc quá hạn kiểm tra", "en": "Markers overdue for inspection"},
    "never": {"vi": "Mốc chưa từng kiểm tra", "en": "Markers never inspected"},
    "works": {"vi": "Công trình", "en": "Works"},
    "stalled": {"vi": "Công trình chậm tiến độ", "en": "Stalled works"},
    "incidents": {"vi": "Vụ việc", "en": "Incidents"},
    "heat": {"vi": "Bản đồ nhiệt vụ việc", "en": "Incident heat map"},
    "legend": {"vi": "Chú giải", "en": "Legend"},
    "legend_status": {"vi": "Tình trạng xây dựng", "en": "Construction status"},
    "legend_condition": {"vi": "Tình trạng mốc (viền)", "en": "Condition (outline)"},
    "legend_work": {"vi": "Công trình", "en": "Works"},
    "legend_kind": {"vi": "Loại vụ việc", "en": "Incident kind"},
    "legend_istatus": {"vi": "Trạng thái", "en": "Status"},
    # filter form
    "filter": {"vi": "Lọc", "en": "Filter"},
    "all": {"vi": "tất cả", "en": "all"},
    "border": {"vi": "Tuyến", "en": "Border"},
    "province": {"vi": "Tỉnh", "en": "Province"},
    "as_of": {"vi": "Tính đến ngày", "en": "As of"},
    "date_from": {"vi": "Từ ngày", "en": "From"},
    "date_to": {"vi": "Đến ngày", "en": "To"},
    "home": {"vi": "← Danh sách bản đồ", "en": "← All maps"},
    "lang_switch": {"vi": "English", "en": "Tiếng Việt"},
    "as_of_note": {"vi": "Số liệu tính đến ngày {d}", "en": "Figures as of {d}"},
    "due_sections": {"vi": "Số mốc đến hạn kiểm tra mỗi đoạn (phóng to đến mức {z} để thấy "
                           "từng mốc)",
                     "en": "Markers due for inspection per section (zoom to {z} for each "
                           "marker)"},
    # unknown filter values
    "not_found": {"vi": "Không tìm thấy", "en": "Not found"},
    "unknown_border": {"vi": "Không có tuyến biên giới {v!r} trong dữ liệu.",
                       "en": "There is no border {v!r} in the data."},
    "unknown_province": {"vi": "Không có tỉnh {v!r} trong dữ liệu.",
                         "en": "There is no province {v!r} in the data."},
    "unknown_kind": {"vi": "Không có loại vụ việc {v!r}.", "en": "There is no incident kind {v!r}."},
    "unknown_status": {"vi": "Không có trạng thái {v!r}.", "en": "There is no status {v!r}."},
    "did_you_mean": {"vi": "Có phải là", "en": "Did you mean"},
    "valid_values": {"vi": "Các giá trị có trong dữ liệu", "en": "Values in the data"},
    "whole_map": {"vi": "Xem toàn bộ bản đồ", "en": "See the whole map"},
    "bad_date": {"vi": "Ngày không hợp lệ", "en": "Invalid date"},
    # history pages
    "history": {"vi": "Lịch sử", "en": "History"},
    "history_link": {"vi": "Xem lịch sử", "en": "History"},
}

#: Texts and field names the browser needs (popups, status line).
_JS_TEXT = {
    "vi": {"overdue_days": "quá hạn {n} ngày", "never_inspected": "chưa từng kiểm tra",
           "work_present": "có công trình", "work_stalled": "có công trình chậm tiến độ",
           "on_line": "trên đường biên giới", "count": "{n} vụ việc",
           "load_error": "Không tải được dữ liệu bản đồ", "history": "Xem lịch sử →",
           "due_overdue": "{n} mốc quá hạn kiểm tra", "due_never": "{n} mốc chưa từng kiểm tra",
           "due_section": "đoạn km {a}–{b}", "due_numbers": "mốc số {a}–{b}",
           "zoom_in": "phóng to để thấy từng mốc"},
    "en": {"overdue_days": "{n} days overdue", "never_inspected": "never inspected",
           "work_present": "works in progress", "work_stalled": "stalled works",
           "on_line": "on the boundary line", "count": "{n} incidents",
           "load_error": "Could not load the map data", "history": "History →",
           "due_overdue": "{n} markers overdue for inspection",
           "due_never": "{n} markers never inspected", "due_section": "km {a}–{b}",
           "due_numbers": "markers {a}–{b}", "zoom_in": "zoom in to see each marker"},
}
#: Popup fields that are layer fields or derived columns: their labels come from the one source
#: (:func:`bienmoc.model.labels.column_label`: the schema's field labels, the derived catalogue).
_POPUP_COLUMNS = {"number": "markers", "border": "markers", "province": "markers",
                  "kind": "markers", "construction_status": "markers", "condition": "markers",
                  "id": "markers", "planned_end": "works", "contractor": "works",
                  "reported_date": "incidents", "occurred_date": "incidents",
                  "description": "incidents", "last_inspection": None, "section": None,
                  "work_status": None, "percent": None, "last_update": None, "days_idle": None,
                  "days_overdue": None, "side": None}
#: Popup labels of the maps' own (not a column of any table).
_JS_OWN = {
    "vi": {"inspection_due": "Kiểm tra định kỳ", "works": "Công trình",
           "work_kind": "Loại công trình", "budget": "Kinh phí kế hoạch",
           "gate_kind": "Loại cửa khẩu", "gate_status": "Trạng thái",
           "incident_status": "Trạng thái", "location": "Vị trí"},
    "en": {"inspection_due": "Inspection cycle", "works": "Works", "work_kind": "Kind of work",
           "budget": "Budget planned", "gate_kind": "Gate kind", "gate_status": "Status",
           "incident_status": "Status", "location": "Location"},
}
_JS_FIELDS = {lang: {**{k: column_label(k, lang, layer) for k, layer in _POPUP_COLUMNS.items()},
                     **_JS_OWN[lang]} for lang in ("vi", "en")}


def t(key: str, lang: str) -> str:
    if lang not in ("vi", "en"):
        raise ValueError(f"lang must be 'vi' or 'en', not {lang!r}")
    return T[key][lang]


def border_name(code: str, lang: str) -> str:
    """'Việt Nam – Lào' / 'Vietnam – Laos' for a border code."""
    vi, en = NEIGHBOURS.get(code, (code, code))
    return f"Việt Nam – {vi}" if lang == "vi" else f"Vietnam – {en}"


def _enum(enum, lang: str) -> dict[str, str]:
    return {m.value: label(m, lang) for m in enum}


def js_labels(lang: str) -> dict:
    """Labels for the browser: fields, texts and every enum used in popups."""
    sides = {code: (f"phía {vi}" if lang == "vi" else f"{en} side")
             for code, (vi, en) in NEIGHBOURS.items()}
    # line-section popups: the layer's own field labels (model/layers.py)
    fields = {**_JS_FIELDS[lang], **{f"section_{f.name}": getattr(f, lang)
                                     for f in SCHEMAS["line_sections"].fields}}
    return {"fields": fields, "text": _JS_TEXT[lang], "enums": {
        "demarcation": _enum(DemarcationStatus, lang),
        "kind": _enum(MarkerKind, lang), "construction_status": _enum(ConstructionStatus, lang),
        "condition": _enum(Condition, lang), "work_kind": _enum(WorkKind, lang),
        "work_status": _enum(WorkStatus, lang), "gate_kind": _enum(GateKind, lang),
        "gate_status": _enum(GateStatus, lang), "incident_kind": _enum(IncidentKind, lang),
        "incident_status": _enum(IncidentStatus, lang), "side": sides,
        "border": {code: border_name(code, lang) for code in NEIGHBOURS if code != "VN"}}}
