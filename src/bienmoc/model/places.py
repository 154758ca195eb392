"""Border and province names as filters: one comparison for every analysis, map and report.

A border is its code, compared exactly (``LA``). A province is a name a person types, so it
is compared by :func:`province_key`: Unicode NFC (a decomposed "Sơn La" is the stored one:
stored text is NFC, see :mod:`bienmoc.model.schema`), surrounding spaces dropped, case folded
("SƠN LA" is "Sơn La"). :func:`ascii_fold` goes further (no accents, đ as d) for what must
not depend on diacritics: suggestions for a misspelt name and file names.
"""
from __future__ import annotations

import unicodedata

import pandas as pd

__all__ = ["province_key", "ascii_fold", "in_area"]


def province_key(name: str) -> str:
    """What two province names must share to be the same province."""
    return unicodedata.normalize("NFC", name).strip().casefold()


def ascii_fold(text: str) -> str:
    """``text`` without diacritics, đ/Đ as d/D, case folded and stripped ("Điện Biên" ->
    "dien bien")."""
    d = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in d if not unicodedata.combining(c)).casefold().strip()


def in_area(df: pd.DataFrame, border: str | None = None, province: str | None = None
            ) -> pd.DataFrame:
    """The rows of ``df`` on ``border`` (its ``border`` column equal to the code) and in
    ``province`` (its ``province`` column the same name by :func:`province_key`). None or an
    empty value filters nothing."""
    if border:
        df = df[df["border"] == border]
    if province and province.strip():
        key = province_key(province)
        df = df[df["province"].fillna("").str.casefold() == key]
    return df
