"""Report periods as the seeds write them: a quarter, a half year, the first N months, a year,
a month ("quý III năm 2026", "6 tháng đầu năm 2026", "9 tháng đầu năm 2026", "năm 2026").

:func:`parse_period` turns the shortcut into dates; :func:`period_label` names a (start, end)
pair the way a report's title does.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re

from bienmoc.errors import InvalidData

__all__ = ["parse_period", "period_label", "PERIOD_FORMS"]

#: The accepted shortcuts, as shown in messages.
PERIOD_FORMS = "YYYY, YYYY-Qn (quý), YYYY-H1/H2 (6 tháng), YYYY-nM (n tháng đầu năm), YYYY-MM"

_RE = re.compile(r"^(\d{4})(?:-(?:(Q[1-4])|(H[12])|(1[0-2]|[1-9])M|(0[1-9]|1[0-2])))?$",
                 re.IGNORECASE)
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
_MONTHS_EN = list(calendar.month_name)


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """``"2026-Q3"`` → (2026-07-01, 2026-09-30); ``"2026-H1"`` → first half; ``"2026-9M"`` → the
    first nine months; ``"2026"`` → the year; ``"2026-06"`` → June. Dates are inclusive.

    >>> parse_period("2026-9M")
    (datetime.date(2026, 1, 1), datetime.date(2026, 9, 30))
    """
    m = _RE.match(str(text).strip())
    if not m:
        raise InvalidData(f"not a report period: {text!r} (write {PERIOD_FORMS})")
    year = int(m.group(1))
    q, h, n, month = m.group(2), m.group(3), m.group(4), m.group(5)
    if q:
        k = int(q[1])
        return dt.date(year, 3 * k - 2, 1), _month_end(year, 3 * k)
    if h:
        first = h.upper() == "H1"
        return (dt.date(year, 1, 1), _month_end(year, 6)) if first else \
            (dt.date(year, 7, 1), _month_end(year, 12))
    if n:
        return dt.date(year, 1, 1), _month_end(year, int(n))
    if month:
        return dt.date(year, int(month), 1), _month_end(year, int(month))
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def period_label(start: dt.date, end: dt.date, lang: str = "vi") -> str:
    """'6 tháng đầu năm 2026', 'quý III năm 2026', 'năm 2026', 'tháng 6 năm 2026' — or
    'từ 05/01/2026 đến 20/03/2026' for any other interval (English alike)."""
    full_months = start.day == 1 and end == _month_end(end.year, end.month) and \
        start.year == end.year
    if full_months:
        a, b, y = start.month, end.month, start.year
        if a == 1 and b == 12:
            return f"năm {y}" if lang == "vi" else f"the year {y}"
        if a == 1 and b == 6:
            return f"6 tháng đầu năm {y}" if lang == "vi" else f"the first half of {y}"
        if a == 7 and b == 12:
            return f"6 tháng cuối năm {y}" if lang == "vi" else f"the second half of {y}"
        if a == b:
            return f"tháng {a} năm {y}" if lang == "vi" else f"{_MONTHS_EN[a]} {y}"
        if (a - 1) % 3 == 0 and b == a + 2:
            k = (a - 1) // 3 + 1
            return f"quý {_ROMAN[k]} năm {y}" if lang == "vi" else f"Q{k} {y}"
        if a == 1:
            return (f"{b} tháng đầu năm {y}" if lang == "vi"
                    else f"the first {b} months of {y}")
    if lang == "vi":
        return f"từ ngày {start:%d/%m/%Y} đến ngày {end:%d/%m/%Y}"
    return f"{start:%d/%m/%Y} to {end:%d/%m/%Y}"
