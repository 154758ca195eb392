"""The history of one record of any map layer (what a map popup links to).

Markers: :func:`bienmoc.analysis.inspections.marker_history`. Works: planned and actual dates
and every progress update (corrections marked). Incidents: occurrence, report and every change
recorded in the change log (``incident_changes``: field, old → new, when). Gates: opening and
status dates. Every function returns the same columns as ``marker_history``: date, event,
record_id, description_vi, description_en (oldest first).
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd

from bienmoc.errors import NotFound
from bienmoc.model.schema import SCHEMAS, label
from bienmoc.model.source import frames

__all__ = ["record_history", "HISTORY_LAYERS"]

#: Layers with a history page (markers are addressed by border and number).
HISTORY_LAYERS = ("markers", "works", "incidents", "gates")

_COLUMNS = ["date", "event", "record_id", "description_vi", "description_en"]


def _one(source, layer: str, record_id: str) -> pd.Series:
    df = frames(source, (layer,))[layer]
    hit = df[df["id"] == record_id]
    if not len(hit):
        raise NotFound(f"no record {record_id!r} in layer {layer!r}")
    return hit.iloc[0]


def _frame(rows: list[tuple]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=_COLUMNS)
    out["date"] = pd.to_datetime(out["date"], utc=True, format="mixed").dt.tz_localize(None)
    return out.sort_values("date", kind="stable").reset_index(drop=True)


def _dates(rec, layer: str, names: tuple[str, ...], event: str) -> list[tuple]:
    schema = SCHEMAS[layer]
    rows = []
    for n in names:
        v = rec.get(n)
        if v is not None and not (not isinstance(v, str) and pd.isna(v)):
            f = schema.field(n)
            rows.append((v, event, rec["id"], f.vi, f.en))
    return rows


def _value(field, v, lang: str) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)) or v == "":
        return "–"
    if field is not None and field.is_enum:
        try:
            return label(field.type(v), lang)
        except ValueError:
            return str(v)
    return str(v)


def _change_log(source, log: str, record_id: str) -> pd.DataFrame:
    if isinstance(source, Mapping):
        df = source.get(log)
        if df is None:
            return pd.DataFrame()
    else:
        try:
            df = source.read(log)
        except NotFound:   # no change recorded yet: the log layer does not exist
            return pd.DataFrame()
    return df[df["record_id"] == record_id] if len(df) else df


def record_history(source, layer: str, record_id: str) -> pd.DataFrame:
    """The history of record ``record_id`` of ``layer`` (works, incidents or gates)."""
    if layer == "works":
        w = _one(source, "works", record_id)
        rows = _dates(w, "works", ("planned_start", "actual_start", "planned_end",
                                   "actual_end"), "work")
        prog = frames(source, ("work_progress",))["work_progress"]
        prog = prog[prog["work_id"] == record_id] if len(prog) else prog
        replaced = set(prog["corrects"].dropna()) if len(prog) else set()
        for p in prog.itertuples(index=False):
            note = f": {p.note}" if isinstance(p.note, str) and p.note else ""
            money = (f" · {p.disbursed_vnd:,.0f} đ" if pd.notna(p.disbursed_vnd) else "")
            fix_vi = f" — đính chính {p.corrects}" if isinstance(p.corrects, str) else ""
            fix_en = f" — corrects {p.corrects}" if isinstance(p.corrects, str) else ""
            later_vi = " (đã được đính chính)" if p.id in replaced else ""
            later_en = " (corrected later)" if p.id in replaced else ""
            rows.append((p.date, "progress", p.id,
                         f"{p.percent:g}%{money.replace(',', '.')}{note}{fix_vi}{later_vi}",
                         f"{p.percent:g}%{money}{note}{fix_en}{later_en}"))
        return _frame(rows)
    if layer == "incidents":
        i = _one(source, "incidents", record_id)
        rows = _dates(i, "incidents", ("occurred_date", "reported_date"), "incident")
        schema = SCHEMAS["incidents"]
        for c in _change_log(source, "incident_changes", record_id).itertuples(index=False):
            f = schema.field(c.field) if c.field in schema.columns else None
            name_vi, name_en = (f.vi, f.en) if f is not None else (c.field, c.field)
            note = f" ({c.note})" if isinstance(c.note, str) and c.note else ""
            who = getattr(c, "changed_by", None)  # logs older than attribution lack it
            by_vi, by_en = ((f" — bởi {who}", f" — by {who}") if isinstance(who, str) and who
                            else ("", ""))
            rows.append((c.changed_at, "change", record_id,
                         f"{name_vi}: {_value(f, c.old_value, 'vi')} → "
                         f"{_value(f, c.new_value, 'vi')}{note}{by_vi}",
                         f"{name_en}: {_value(f, c.old_value, 'en')} → "
                         f"{_value(f, c.new_value, 'en')}{note}{by_en}"))
        return _frame(rows)
    if layer == "gates":
        g = _one(source, "gates", record_id)
        rows = _dates(g, "gates", ("opened_date",), "gate")
        sd = g.get("status_date")
        if sd is not None and not pd.isna(sd):
            rows.append((sd, "status", record_id,
                         f"Trạng thái: {label(SCHEMAS['gates'].field('status').type(g['status']), 'vi')}",
                         f"Status: {label(SCHEMAS['gates'].field('status').type(g['status']), 'en')}"))
        return _frame(rows)
    raise NotFound(f"no history for layer {layer!r}; layers: works, incidents, gates "
                   "(markers: marker_history)")
