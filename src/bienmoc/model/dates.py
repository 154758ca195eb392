"""One date parser for every door: the CLI's options, imported files, the API.

Two written forms are accepted, and only these: ISO ``yyyy-mm-dd`` (optionally followed by a
time, which is dropped: ``2026-11-05T08:30:00``) and the Vietnamese ``dd/mm/yyyy`` (day first,
always; ``05/11/2026`` is the 5th of November). Anything else - ``02/13/2025``, ``2025-13-01``,
``2025/06/22``, ``5 Nov 2026`` - is an error that names the accepted forms, never a guess.
Date and datetime objects (from a GeoPackage, a Shapefile, an XLSX cell) are taken as they are.
"""
from __future__ import annotations

import datetime as _dt
import re

import numpy as np
import pandas as pd

__all__ = ["parse_date", "DATE_FORMS", "parse_datetime", "show_datetime", "LOCAL_TZ"]

#: The accepted written forms, as shown in messages.
DATE_FORMS = "YYYY-MM-DD or dd/mm/yyyy"

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                  r"(?:Z|[+-]\d{2}:?\d{2})?)?$")
_VN = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def parse_date(value: object) -> _dt.date:
    """``value`` as a :class:`datetime.date`; raises ValueError naming the accepted forms.

    >>> parse_date("05/11/2026"), parse_date("2026-11-05")
    (datetime.date(2026, 11, 5), datetime.date(2026, 11, 5))
    """
    if isinstance(value, pd.Timestamp):
        if value is pd.NaT:
            raise ValueError("not a date: missing")
        return value.date()
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    text = str(value).strip()
    m = _ISO.match(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = _VN.match(text)
        if not m:
            raise ValueError(f"not a date: {value!r} (write {DATE_FORMS})")
        d, mo, y = (int(g) for g in m.groups())
    try:
        return _dt.date(y, mo, d)
    except ValueError:
        raise ValueError(f"not a date: {value!r} (no such day; write {DATE_FORMS})") from None


# -- date-times with their UTC offset (patrol start/end, GPS fixes) ---------------------------

#: The zone times are shown in, and the offset a time written without one is taken in.
LOCAL_TZ = "Asia/Ho_Chi_Minh"

_ISO_DT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                     r"(?:Z|[+-]\d{2}:?\d{2})?$")
_VN_DT = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_datetime(value: object) -> str:
    """``value`` as ISO 8601 text **with its UTC offset kept**: ``2026-11-05T08:30:00+07:00``.

    Accepts ISO 8601 (``...Z``, ``...+07:00``, or no offset), ``dd/mm/yyyy HH:MM[:SS]`` and
    datetime objects; a time written without an offset is taken in Vietnam's time
    (:data:`LOCAL_TZ`, +07:00). Raises ValueError naming the accepted forms.
    """
    if isinstance(value, (pd.Timestamp, _dt.datetime, np.datetime64)):
        t = pd.Timestamp(value)
        if t is pd.NaT:
            raise ValueError("not a date-time: missing")
    else:
        text = str(value).strip()
        m = _VN_DT.match(text)
        if m:
            d, mo, y, h, mi, sec = m.groups()
            text = f"{int(y):04d}-{int(mo):02d}-{int(d):02d}T{int(h):02d}:{mi}:{sec or '00'}"
        elif not _ISO_DT.match(text):
            raise ValueError(f"not a date-time: {value!r} (write YYYY-MM-DDTHH:MM:SS+07:00 "
                             "or dd/mm/yyyy HH:MM)")
        try:
            t = pd.Timestamp(text)
        except ValueError:
            raise ValueError(f"not a date-time: {value!r} (no such day or time)") from None
    if t.tzinfo is None:
        t = t.tz_localize(LOCAL_TZ)
    return t.isoformat(timespec="milliseconds" if t.microsecond else "seconds")


def show_datetime(value: object, lang: str = "vi") -> str:
    """A stored date-time as people read it, in :data:`LOCAL_TZ`: ``05/11/2026 08:30`` (vi) or
    ``2026-11-05 08:30`` (en); empty for a missing value."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    t = pd.Timestamp(parse_datetime(value)).tz_convert(LOCAL_TZ)
    return t.strftime("%d/%m/%Y %H:%M" if lang == "vi" else "%Y-%m-%d %H:%M")
