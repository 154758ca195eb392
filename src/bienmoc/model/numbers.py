"""Marker numbers: parsing and natural ordering.

A marker number is a string, never an integer: ``"207"``, ``"163/1"`` (reference stake or
sub-marker 1 after marker 163), ``"222(1)"`` (part 1 of double marker 222), ``"1116/1(2)"``.

Grammar: ``MAIN ["/" SUB] ["(" PART ")"]`` where MAIN and SUB are decimal integers written
without leading zeros and PART is 1, 2 or 3.  Natural order sorts by (MAIN, SUB, PART) with a
missing SUB or PART first: 163 < 163/1 < 163/2 < 164 and 222(1) < 222(2).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from bienmoc.errors import InvalidData, Problem

__all__ = ["MarkerNumber", "parse_number", "number_sort_key", "sort_numbers", "is_valid_number"]

_NUMBER_RE = re.compile(r"^(0|[1-9]\d*)(?:/([1-9]\d*))?(?:\(([1-3])\))?$")


@dataclass(frozen=True, order=True)
class MarkerNumber:
    """A parsed marker number; instances sort naturally."""

    main: int
    sub: int = 0
    part: int = 0

    @property
    def position(self) -> str:
        """The number without its part suffix: the marker *position* ("222" for "222(1)")."""
        return f"{self.main}/{self.sub}" if self.sub else str(self.main)

    @property
    def is_sub(self) -> bool:
        """True for ``N/k`` numbers (reference stakes, sub-markers)."""
        return self.sub > 0

    def __str__(self) -> str:
        return self.position + (f"({self.part})" if self.part else "")


def parse_number(text: object) -> MarkerNumber:
    """Parse a marker number, raising :class:`InvalidData` with a clear reason if malformed.

    Examples
    --------
    >>> parse_number("163/1")
    MarkerNumber(main=163, sub=1, part=0)
    >>> str(parse_number(" 222(2) "))
    '222(2)'
    """
    if text is None or (isinstance(text, float) and text != text):
        raise InvalidData(Problem(None, "number", "marker number is missing"))
    if isinstance(text, int):
        text = str(text)
    if not isinstance(text, str):
        raise InvalidData(Problem(None, "number", f"marker number must be text, got {text!r}"))
    s = text.strip()
    m = _NUMBER_RE.match(s)
    if not m:
        hint = ("expected forms like '207', '163/1', '222(1)' or '1116/1(2)' "
                "(digits without leading zeros; part (1)-(3))")
        raise InvalidData(Problem(None, "number", f"malformed marker number {text!r}: {hint}"))
    main, sub, part = m.groups()
    return MarkerNumber(int(main), int(sub or 0), int(part or 0))


def is_valid_number(text: object) -> bool:
    """True when :func:`parse_number` accepts ``text``."""
    try:
        parse_number(text)
    except InvalidData:
        return False
    return True


def number_sort_key(text: str) -> tuple[int, int, int]:
    """Natural sort key for a marker number string (use with ``sorted(key=...)``)."""
    n = parse_number(text)
    return (n.main, n.sub, n.part)


def sort_numbers(numbers: Iterable[str]) -> list[str]:
    """Return the numbers in natural order: 163 < 163/1 < 163/2 < 164; 222(1) < 222(2)."""
    return sorted(numbers, key=number_sort_key)
