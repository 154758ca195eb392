"""Filter values of the maps checked against the data: an unknown province, border, incident
kind or status is an error that names the parameter and the value (pages show it as a message,
the JSON endpoints answer 404) - never a silently blank national map."""
from __future__ import annotations

import difflib

from bienmoc.model.places import ascii_fold, province_key
from bienmoc.errors import NotFound

__all__ = ["UnknownFilter", "check_filters", "check_codes", "known_values"]


class UnknownFilter(NotFound):
    """A filter value that matches nothing in the data (or no code of an enum)."""

    def __init__(self, param: str, value: str, valid: list[str], near: list[str] | None = None):
        self.param, self.value, self.valid = param, value, list(valid)
        self.near = list(near or [])
        shown = ", ".join(self.valid[:30]) + (" …" if len(self.valid) > 30 else "")
        super().__init__(f"unknown {param} {value!r}: no {param} of that name in the data"
                         + (f"; known: {shown}" if shown else ""))

    def as_json(self) -> dict:
        return {"detail": str(self), "parameter": self.param, "value": self.value,
                "valid": self.valid, "did_you_mean": self.near}


def _texts(df, field: str) -> set[str]:
    if not len(df) or field not in df:
        return set()
    return {v for v in df[field].dropna() if isinstance(v, str) and v}


def known_values(source) -> dict[str, list[str]]:
    """Borders and provinces present in the data (cached per data version)."""
    from bienmoc.maps.data import _layer, cached

    def build():
        borders = _texts(_layer(source, "boundary"), "border") | \
            _texts(_layer(source, "markers"), "border")
        provinces = _texts(_layer(source, "provinces"), "name") | \
            _texts(_layer(source, "markers"), "province")
        return {"border": sorted(borders), "province": sorted(provinces)}
    return cached(source, ("known_values",), build)


def check_filters(source, border: str | None = None, province: str | None = None) -> None:
    """Raise :class:`UnknownFilter` when ``border`` or ``province`` is not in the data
    (provinces compare case-insensitively, as the maps filter them)."""
    known = known_values(source)
    if border and border not in known["border"]:
        raise UnknownFilter("border", border, known["border"])
    if province:
        key = province_key(province)
        if not any(province_key(p) == key for p in known["province"]):
            folded = {ascii_fold(p): p for p in known["province"]}
            near = [folded[n] for n in difflib.get_close_matches(
                ascii_fold(province), list(folded), n=3, cutoff=0.5)]
            raise UnknownFilter("province", province, known["province"], near)


def check_codes(values, enum, param: str) -> None:
    """Raise :class:`UnknownFilter` for the first value of a comma list that is no code or
    label of ``enum``."""
    if values is None or values == "" or values == []:
        return
    for v in (values.split(",") if isinstance(values, str) else list(values)):
        try:
            enum.parse(v)
        except ValueError:
            raise UnknownFilter(param, v, [m.value for m in enum]) from None
