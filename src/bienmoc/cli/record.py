"""``bienmoc record``: append progress updates, inspections, resurveys and incidents, through
the one rule layer (:mod:`bienmoc.records`)."""
from __future__ import annotations

import click

from bienmoc.cli.main import ALLOW, DATE, _store, _user


@click.group()
def record():
    """Record progress updates and inspections (validated, append-only)."""


@record.command("progress")
@click.argument("work_id")
@click.option("--date", required=True, type=DATE, help="YYYY-MM-DD or dd/mm/yyyy.")
@click.option("--percent", required=True, type=float)
@click.option("--note", default=None)
@click.option("--disbursed", default=None, type=float, help="Disbursed to date (VND).")
@click.option("--corrects", default=None, metavar="ID", help="Id of the record this corrects.")
@ALLOW
@click.pass_context
def record_progress_cmd(ctx, work_id, date, percent, note, disbursed, corrects, allow):
    """Append a progress update of work WORK_ID."""
    from bienmoc.records.recording import record_progress

    rec = record_progress(_store(ctx, create=True), work_id, date, percent, note=note,
                          disbursed_vnd=disbursed, corrects=corrects, allow=allow,
                          user=_user(ctx))
    click.echo(rec["id"].iloc[0])


@record.command("inspection")
@click.argument("marker")
@click.option("--border", required=True, metavar="CODE")
@click.option("--date", required=True, type=DATE, help="YYYY-MM-DD or dd/mm/yyyy.")
@click.option("--team", required=True, help="unilateral / joint (or the Vietnamese label).")
@click.option("--condition", required=True, help="good / damaged / displaced / destroyed / "
                                                 "missing (or the Vietnamese label).")
@click.option("--lon", type=float, default=None, help="Measured longitude (EPSG:4326).")
@click.option("--lat", type=float, default=None, help="Measured latitude (EPSG:4326).")
@click.option("--notes", default=None)
@click.option("--photos", default=None, help="Photo references, ';'-separated.")
@click.option("--corrects", default=None, metavar="ID", help="Id of the record this corrects.")
@ALLOW
@click.pass_context
def record_inspection_cmd(ctx, marker, border, date, team, condition, lon, lat, notes, photos,
                          corrects, allow):
    """Append an inspection of MARKER."""
    from bienmoc.records.recording import record_inspection

    if (lon is None) != (lat is None):
        raise click.UsageError("give both --lon and --lat, or neither")
    rec = record_inspection(_store(ctx, create=True), border.strip().upper(), marker, date,
                            team, condition, position=(lon, lat) if lon is not None else None,
                            notes=notes, photos=photos, corrects=corrects, allow=allow,
                            user=_user(ctx))
    click.echo(rec["id"].iloc[0])


@record.command("resurvey")
@click.argument("marker")
@click.option("--border", required=True, metavar="CODE")
@click.option("--date", required=True, type=DATE, help="YYYY-MM-DD or dd/mm/yyyy.")
@click.option("--lon", type=float, required=True)
@click.option("--lat", type=float, required=True)
@click.option("--reason", required=True)
@click.option("--surveyor", default=None)
@ALLOW
@click.pass_context
def record_resurvey_cmd(ctx, marker, border, date, lon, lat, reason, surveyor, allow):
    """Move MARKER's registered position after a resurvey (recorded with the old position)."""
    from bienmoc.records.recording import resurvey_marker

    rec = resurvey_marker(_store(ctx, create=True), border.strip().upper(), marker, (lon, lat),
                          date, reason, surveyor=surveyor, allow=allow, user=_user(ctx))
    click.echo(rec["id"].iloc[0])


@record.command("incident")
@click.option("--kind", required=True, help="Incident kind (code or Vietnamese label).")
@click.option("--lon", type=float, required=True)
@click.option("--lat", type=float, required=True)
@click.option("--reported", default=None, type=DATE, help="Reported date (default today).")
@click.option("--occurred", default=None, type=DATE)
@click.option("--border", default=None, metavar="CODE", help="Default: the nearest line.")
@click.option("--province", default=None, help="Default: the province at the position.")
@click.option("--description", default=None)
@ALLOW
@click.pass_context
def record_incident_cmd(ctx, kind, lon, lat, reported, occurred, border, province,
                        description, allow):
    """Append an incident at LON/LAT."""
    from bienmoc.records import record_incident

    rec = record_incident(_store(ctx, create=True), kind, (lon, lat), reported_date=reported,
                          occurred_date=occurred,
                          border=border.strip().upper() if border else None,
                          province=province, description=description, allow=allow,
                          user=_user(ctx))
    click.echo(rec["id"].iloc[0])
