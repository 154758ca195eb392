"""The vocabulary of layer schemas: :class:`Field` (one column) and :class:`LayerSchema`."""
from __future__ import annotations

from dataclasses import dataclass, field

from bienmoc.model.enums import _Labelled

__all__ = ["Field", "LayerSchema"]


@dataclass(frozen=True)
class Field:
    """One column: its type ('text', 'int', 'float', 'bool', 'date', 'datetime' or an enum
    class)."""

    name: str
    type: object
    required: bool = False
    max_len: int | None = None
    min: float | None = None
    max: float | None = None
    vi: str = ""
    en: str = ""

    @property
    def is_enum(self) -> bool:
        return isinstance(self.type, type) and issubclass(self.type, _Labelled)


@dataclass(frozen=True)
class LayerSchema:
    """A layer: its fields, allowed geometry types and unique key."""

    name: str
    fields: tuple[Field, ...]
    geometry_types: tuple[str, ...]
    geometry_required: bool = True
    key: tuple[str, ...] = ("id",)
    id_prefix: str = ""
    vi: str = ""
    en: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)
