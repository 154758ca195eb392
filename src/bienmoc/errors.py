"""Exceptions of bienmoc. No HTTP or CLI knowledge here: the edges translate them."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BienmocError", "InvalidData", "NotFound", "StorageError", "StoreBusy", "Problem"]


class BienmocError(Exception):
    """Base class of every error bienmoc raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one record.

    ``row`` is the 1-based position of the record in its source (the N-th feature of a
    GeoJSON/GeoPackage, the N-th data row of a CSV - i.e. CSV line N+1), or ``None`` for a
    problem with the whole input.
    """

    row: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field '{self.field}'")
        return (", ".join(where) + ": " if where else "") + self.reason


class InvalidData(BienmocError, ValueError):
    """Input that fails validation. Carries *every* problem found, not just the first."""

    def __init__(self, problems: list[Problem] | Problem | str, what: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.what = what
        head = f"{what}: " if what else ""
        if len(self.problems) == 1:
            msg = head + str(self.problems[0])
        else:
            msg = head + f"{len(self.problems)} problems\n" + "\n".join(
                f"  - {p}" for p in self.problems)
        super().__init__(msg)


class NotFound(BienmocError, LookupError):
    """A layer, record or marker that does not exist."""


class StorageError(BienmocError):
    """The store cannot be opened, read or written."""


class StoreBusy(StorageError):
    """Another writer held the store's write lock longer than the bounded wait allowed.

    Nothing was written; try again after ``retry_after`` seconds (the API answers 503 with a
    ``Retry-After`` header).
    """

    def __init__(self, message: str, retry_after: float = 1.0):
        super().__init__(message)
        self.retry_after = retry_after
