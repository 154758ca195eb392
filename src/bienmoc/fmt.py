"""Numbers, dates, yes/no and missing values as a reader of one language writes them.

One formatter for every table the CLI prints (and any other text output):

* numbers: Vietnamese ``3.785,7`` (dot groups thousands, comma before decimals), English
  ``3,785.7``; :func:`fmt_number`, :func:`fmt_length` (``3.785,7 m`` / ``3,8 km``);
* dates: Vietnamese ``dd/mm/yyyy``, English ``yyyy-mm-dd`` (ISO 8601); :func:`fmt_date`;
* yes/no: ``Có``/``Không``, ``Yes``/``No``; :func:`fmt_bool`;
* a missing value (None, NaN, NaT, pd.NA) is :data:`MISSING` ("—") in both languages, never
  "NaN" or "None".

Hand-written rather than Babel/ICU: two fixed locales with three rules each; Babel's locale data
would be a 30 MB dependency for ``str.translate`` of two characters.
"""
from __future__ import annotations

import datetime as _dt
import math

import numpy as np
import pandas as pd

__all__ = ["MISSING", "is_missing", "fmt_number", "fmt_length", "fmt_date", "fmt_bool",
           "fmt_value", "decimals", "LANGS"]

LANGS = ("vi", "en")
#: How a missing value is shown in text tables (both languages).
MISSING = "—"
_VI_SEPARATORS = str.maketrans({",": ".", ".": ","})
_BOOLS = {"vi": ("Có", "Không"), "en": ("Yes", "No")}


def _check(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be 'vi' or 'en', not {lang!r}")
    return lang


def is_missing(v: object) -> bool:
    """None, NaN, NaT and pd.NA (not an empty string)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, (float, np.floating)):
        return math.isnan(v)
    if isinstance(v, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(v))
    return False


def decimals(x: float, cap: int = 7) -> int:
    """Decimals needed to show ``x`` exactly (at most ``cap``): 2439.5 -> 1, 2440.0 -> 0."""
    if is_missing(x) or not math.isfinite(float(x)):
        return 0
    text = np.format_float_positional(float(x), precision=cap, trim="-")
    return len(text.partition(".")[2])


def fmt_number(x: object, lang: str = "vi", digits: int | None = None) -> str:
    """``x`` with ``digits`` decimals (default: as many as it has, at most 7) and thousands
    grouped: 3785.7 -> '3.785,7' (vi) / '3,785.7' (en); missing -> '—'."""
    _check(lang)
    if is_missing(x):
        return MISSING
    if isinstance(x, (bool, np.bool_)):
        return fmt_bool(x, lang)
    if isinstance(x, (int, np.integer)) and digits is None:
        text = f"{int(x):,}"
    else:
        x = float(x)
        if not math.isfinite(x):
            return "∞" if x > 0 else "-∞"
        n = decimals(x) if digits is None else digits
        text = f"{x:,.{n}f}"
        if text.lstrip("-").strip("0,.") == "":  # -0.0 -> 0
            text = text.lstrip("-")
    return text.translate(_VI_SEPARATORS) if lang == "vi" else text


def fmt_length(metres: object, lang: str = "vi", digits: int = 1) -> str:
    """A distance: '3.785,7 m' below 10 km, else '12,3 km' (vi) / '12.3 km' (en)."""
    if is_missing(metres):
        return MISSING
    m = float(metres)
    if abs(m) < 10_000:
        return f"{fmt_number(m, lang, digits)} m"
    return f"{fmt_number(m / 1000, lang, digits)} km"


def fmt_date(d: object, lang: str = "vi") -> str:
    """A date as 'dd/mm/yyyy' (vi) or 'yyyy-mm-dd' (en); a time of day, if any, follows as
    'hh:mm'; missing -> '—'. Text that is not a date is returned as it is."""
    _check(lang)
    if is_missing(d):
        return MISSING
    if isinstance(d, str):
        try:
            d = pd.Timestamp(d)
        except ValueError:
            return d
    if isinstance(d, np.datetime64):
        d = pd.Timestamp(d)
    if isinstance(d, pd.Timestamp):
        if d.tzinfo is not None:
            d = d.tz_localize(None)
        d = d.to_pydatetime()
    day = d.strftime("%d/%m/%Y" if lang == "vi" else "%Y-%m-%d")
    if isinstance(d, _dt.datetime) and (d.hour, d.minute, d.second) != (0, 0, 0):
        return f"{day} {d:%H:%M}"
    return day


def fmt_bool(v: object, lang: str = "vi") -> str:
    """'Có'/'Không' (vi), 'Yes'/'No' (en); missing -> '—'."""
    if is_missing(v):
        return MISSING
    yes, no = _BOOLS[_check(lang)]
    return yes if bool(v) else no


def fmt_value(v: object, lang: str = "vi", digits: int | None = None) -> str:
    """Any cell of a text table: numbers, dates, yes/no and missing values as above; text as
    it is."""
    if is_missing(v):
        return MISSING
    if isinstance(v, (bool, np.bool_)):
        return fmt_bool(v, lang)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return fmt_number(v, lang, digits)
    if isinstance(v, (_dt.date, np.datetime64, pd.Timestamp)):
        return fmt_date(v, lang)
    return str(v)


# -- whole tables ------------------------------------------------------------------------------

def label_table(df: pd.DataFrame, lang: str, layer: str | None = None,
                headers: dict | None = None) -> pd.DataFrame:
    """``df`` for readers, keeping types (XLSX): headers from the labels
    (:func:`bienmoc.model.labels.column_label`, ``headers`` overriding), enum codes and derived
    codes as labels, yes/no as 'Có'/'Không' text. Numbers and dates stay numbers and dates."""
    from bienmoc.model.labels import table_labels, value_label

    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_bool_dtype(s) or (s.dtype == object and len(s) and all(
                isinstance(v, (bool, np.bool_)) or is_missing(v) for v in s)
                and any(isinstance(v, (bool, np.bool_)) for v in s)):
            out[col] = [None if is_missing(v) else fmt_bool(v, lang) for v in s]
        elif s.dtype == object or pd.api.types.is_string_dtype(s):
            out[col] = [value_label(str(col), v, lang, layer) for v in s]
    names = table_labels(out.columns, lang, layer)
    names.update(headers or {})
    return out.rename(columns=names)


def format_table(df: pd.DataFrame, lang: str, layer: str | None = None,
                 headers: dict | None = None) -> pd.DataFrame:
    """``df`` as text cells for a printed table: :func:`label_table`, then every number in the
    language's format (one number of decimals per column: the most any of its values has),
    dates as :func:`fmt_date`, missing values as '—'."""
    out = label_table(df, lang, layer, headers)
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = [fmt_date(v, lang) for v in s]
        elif pd.api.types.is_float_dtype(s):
            n = max((decimals(v) for v in s if not is_missing(v)), default=0)
            out[col] = [fmt_number(v, lang, n) for v in s]
        elif pd.api.types.is_integer_dtype(s):
            out[col] = [fmt_number(None if is_missing(v) else int(v), lang) for v in s]
        else:
            floats = [v for v in s if isinstance(v, (float, np.floating)) and not is_missing(v)]
            n = max((decimals(v) for v in floats), default=0)
            out[col] = [fmt_value(v, lang, n if isinstance(v, (float, np.floating)) else None)
                        for v in s]
    return out
