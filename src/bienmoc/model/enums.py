"""The domain's enumerations: codes stored in the layers, with Vietnamese and English labels.

Values are short English codes (``"built"``); :meth:`_Labelled.parse` also accepts either label
(``"đã xây dựng"``, ``"Built"``), case-insensitively; :func:`label` renders a code in a language.
"""
from __future__ import annotations

from enum import StrEnum

__all__ = ["MarkerKind", "Arrangement", "ConstructionStatus", "Condition", "GateKind",
           "GateStatus", "WorkKind", "InspectionTeam", "FoundCondition", "IncidentKind",
           "IncidentStatus", "HomeSide", "DemarcationStatus", "PatrolKind", "label"]


class _Labelled(StrEnum):
    """A StrEnum whose members carry Vietnamese and English labels (``_labels_``)."""

    @property
    def vi(self) -> str:
        return type(self)._labels()[self][0]

    @property
    def en(self) -> str:
        return type(self)._labels()[self][1]

    @classmethod
    def _labels(cls) -> dict:  # overridden via _LABELS below
        return _LABELS[cls]

    @classmethod
    def parse(cls, value: object) -> "_Labelled":
        """Accept the code or either label, case- and surrounding-space-insensitive."""
        text = str(value).strip().casefold()
        for member in cls:
            vi, en = member.vi, member.en
            if text in (member.value.casefold(), vi.casefold(), en.casefold()):
                return member
        allowed = ", ".join(m.value if m.en == m.value else f"{m.value} ({m.en})" for m in cls)
        raise ValueError(f"unknown value {value!r}; allowed: {allowed}")


class MarkerKind(_Labelled):
    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"
    STAKE = "stake"


class Arrangement(_Labelled):
    SINGLE = "single"
    DOUBLE = "double"
    TRIPLE = "triple"


class ConstructionStatus(_Labelled):
    PLANNED = "planned"
    UNDER_CONSTRUCTION = "under_construction"
    BUILT = "built"


class Condition(_Labelled):
    GOOD = "good"
    DAMAGED = "damaged"
    DISPLACED = "displaced"
    DESTROYED = "destroyed"
    MISSING = "missing"
    UNKNOWN = "unknown"


class FoundCondition(_Labelled):
    """Condition an inspection can find (no 'unknown': an inspection always finds something)."""

    GOOD = "good"
    DAMAGED = "damaged"
    DISPLACED = "displaced"
    DESTROYED = "destroyed"
    MISSING = "missing"


class GateKind(_Labelled):
    INTERNATIONAL = "international"
    MAIN = "main"
    AUXILIARY = "auxiliary"
    OPENING = "opening"
    BORDER_MARKET = "border_market"


class GateStatus(_Labelled):
    PLANNED = "planned"
    OPEN = "open"
    SUSPENDED = "suspended"
    CLOSED = "closed"
    UPGRADING = "upgrading"


class WorkKind(_Labelled):
    MARKER_CONSTRUCTION = "marker_construction"
    REFERENCE_STAKE = "reference_stake"
    EMBANKMENT = "embankment"
    LANDSCAPE = "landscape"
    ACCESS_PATH = "access_path"
    SIGNBOARD = "signboard"
    REPAIR = "repair"
    ROAD = "road"


class InspectionTeam(_Labelled):
    UNILATERAL = "unilateral"
    JOINT = "joint"


class IncidentKind(_Labelled):
    ILLEGAL_CROSSING = "illegal_crossing"
    ILLEGAL_TRADE = "illegal_trade"
    FREE_MIGRATION = "free_migration"
    ENCROACHMENT = "encroachment"
    CONSTRUCTION = "construction"
    MARKER_DAMAGE = "marker_damage"
    LANDSLIDE = "landslide"
    POLLUTION = "pollution"
    OTHER = "other"


class IncidentStatus(_Labelled):
    REPORTED = "reported"
    VERIFYING = "verifying"
    NEGOTIATING = "negotiating"
    RESOLVED = "resolved"


class PatrolKind(_Labelled):
    """A patrol by our own forces alone, or together with the neighbour's border force."""

    UNILATERAL = "unilateral"
    JOINT = "joint"


class HomeSide(_Labelled):
    LEFT = "left"
    RIGHT = "right"


class DemarcationStatus(_Labelled):
    """Whether a section of the line has been demarcated (phân giới cắm mốc). The seeds and
    the public figures know only these two states; a disputed section is not demarcated."""

    DEMARCATED = "demarcated"
    NOT_DEMARCATED = "not_demarcated"


_LABELS: dict[type, dict] = {
    MarkerKind: {MarkerKind.LARGE: ("mốc đại", "large marker"),
                 MarkerKind.MEDIUM: ("mốc trung", "medium marker"),
                 MarkerKind.SMALL: ("mốc tiểu", "small marker"),
                 MarkerKind.STAKE: ("cọc dấu", "reference stake")},
    Arrangement: {Arrangement.SINGLE: ("mốc đơn", "single"),
                  Arrangement.DOUBLE: ("mốc đôi", "double"),
                  Arrangement.TRIPLE: ("mốc ba", "triple")},
    ConstructionStatus: {ConstructionStatus.PLANNED: ("chưa xây dựng", "planned"),
                         ConstructionStatus.UNDER_CONSTRUCTION: ("đang xây dựng",
                                                                 "under construction"),
                         ConstructionStatus.BUILT: ("đã xây dựng", "built")},
    Condition: {Condition.GOOD: ("tốt", "good"), Condition.DAMAGED: ("hư hỏng", "damaged"),
                Condition.DISPLACED: ("xê dịch", "displaced"),
                Condition.DESTROYED: ("bị phá hủy", "destroyed"),
                Condition.MISSING: ("bị mất", "missing"),
                Condition.UNKNOWN: ("chưa rõ", "unknown")},
    GateKind: {GateKind.INTERNATIONAL: ("cửa khẩu quốc tế", "international gate"),
               GateKind.MAIN: ("cửa khẩu chính", "main gate"),
               GateKind.AUXILIARY: ("cửa khẩu phụ", "auxiliary gate"),
               GateKind.OPENING: ("lối mở", "border opening"),
               GateKind.BORDER_MARKET: ("chợ biên giới", "border market")},
    GateStatus: {GateStatus.PLANNED: ("quy hoạch", "planned"),
                 GateStatus.OPEN: ("đang hoạt động", "open"),
                 GateStatus.SUSPENDED: ("tạm dừng", "suspended"),
                 GateStatus.CLOSED: ("đã đóng", "closed"),
                 GateStatus.UPGRADING: ("đang nâng cấp", "upgrading")},
    WorkKind: {WorkKind.MARKER_CONSTRUCTION: ("xây dựng mốc", "marker construction"),
               WorkKind.REFERENCE_STAKE: ("cắm cọc dấu", "reference stake"),
               WorkKind.EMBANKMENT: ("kè bảo vệ mốc", "protective embankment"),
               WorkKind.LANDSCAPE: ("kiến trúc cảnh quan", "landscape works"),
               WorkKind.ACCESS_PATH: ("đường ra mốc", "access path"),
               WorkKind.SIGNBOARD: ("biển báo", "signboard"),
               WorkKind.REPAIR: ("sửa chữa, gia cố", "repair/reinforcement"),
               WorkKind.ROAD: ("đường vận chuyển hàng hóa", "freight road")},
    InspectionTeam: {InspectionTeam.UNILATERAL: ("đơn phương", "unilateral"),
                     InspectionTeam.JOINT: ("song phương", "joint")},
    IncidentKind: {IncidentKind.ILLEGAL_CROSSING: ("xuất nhập cảnh trái phép", "illegal crossing"),
                   IncidentKind.ILLEGAL_TRADE: ("buôn lậu, gian lận thương mại", "illegal trade"),
                   IncidentKind.FREE_MIGRATION: ("di cư tự do", "free migration"),
                   IncidentKind.ENCROACHMENT: ("xâm canh, xâm cư", "encroachment"),
                   IncidentKind.CONSTRUCTION: ("xây dựng công trình sát biên giới",
                                               "construction near the line"),
                   IncidentKind.MARKER_DAMAGE: ("xâm hại mốc quốc giới", "marker damage"),
                   IncidentKind.LANDSLIDE: ("sạt lở, sụt lún", "landslide/subsidence"),
                   IncidentKind.POLLUTION: ("ô nhiễm nguồn nước", "water pollution"),
                   IncidentKind.OTHER: ("khác", "other")},
    IncidentStatus: {IncidentStatus.REPORTED: ("mới phát hiện", "reported"),
                     IncidentStatus.VERIFYING: ("đang xác minh", "verifying"),
                     IncidentStatus.NEGOTIATING: ("đang giao thiệp", "in negotiation"),
                     IncidentStatus.RESOLVED: ("đã giải quyết", "resolved")},
    HomeSide: {HomeSide.LEFT: ("bên trái", "left"), HomeSide.RIGHT: ("bên phải", "right")},
    DemarcationStatus: {DemarcationStatus.DEMARCATED: ("đã phân giới cắm mốc", "demarcated"),
                        DemarcationStatus.NOT_DEMARCATED: ("chưa phân giới cắm mốc",
                                                           "not demarcated")},
    PatrolKind: {PatrolKind.UNILATERAL: ("đơn phương", "unilateral"),
                 PatrolKind.JOINT: ("song phương", "joint")},
}
_LABELS[FoundCondition] = {FoundCondition(c.value): _LABELS[Condition][c]
                           for c in Condition if c is not Condition.UNKNOWN}


def label(value: object, lang: str = "vi") -> str:
    """Label of an enum member (or of a code of any bienmoc enum) in ``lang`` ('vi'/'en')."""
    if isinstance(value, _Labelled):
        return value.vi if lang == "vi" else value.en
    for enum in _LABELS:
        try:
            member = enum(value)
        except ValueError:
            continue
        return member.vi if lang == "vi" else member.en
    return "" if value is None else str(value)


# -- field and layer descriptions ------------------------------------------------------------
