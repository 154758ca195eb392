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

__all__ = ["parse_date", "DATE_FORMS"]

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
