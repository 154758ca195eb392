"""Benchmark: a province's periodic report with its map and chart, against the 10 s target.

Times ``build_report`` (figures, map and chart PNGs) + ``write_docx`` for a province and a
period of the demo store, and, as the peer measured in the same run, the CLI commands an officer
runs today to copy the same figures by hand (``status``, ``progress``, ``inspections due``,
``hotspots``, all ``--format json``, in-process through click's runner so Python's start-up is
not counted). Prints the machine load (the machine is shared) before and after.

    python benchmarks/report.py                      # Sơn La, 2026-H1, 3 runs
    python benchmarks/report.py --province "Lạng Sơn" --period 2020-9M --runs 5
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

TARGET_S = 10.0


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--province", default="Sơn La")
    ap.add_argument("--period", default="2026-H1")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--store", default=None, help="a GeoPackage (default: the demo, seeded "
                                                  "once into /tmp/bienmoc-bench/report)")
    a = ap.parse_args()

    from click.testing import CliRunner

    from bienmoc.cli.main import main as cli
    from bienmoc.report import build_report, parse_period
    from bienmoc.report.docx import write_docx
    from bienmoc.storage import GeoPackageStore

    path = Path(a.store) if a.store else Path("/tmp/bienmoc-bench/report/demo.gpkg")
    if not path.exists():
        from bienmoc.demo import seed_store

        path.parent.mkdir(parents=True, exist_ok=True)
        seed_store(GeoPackageStore(path))
    store = GeoPackageStore(path)
    start, end = parse_period(a.period)
    print(f"cpus={os.cpu_count()} load before: {_load()}")
    build_report(store, province=a.province, start=start, end=end, with_maps=False)  # warm-up

    def report_once(tmp) -> float:
        t = time.perf_counter()
        rep = build_report(GeoPackageStore(path), province=a.province, start=start, end=end,
                           with_maps=True)
        write_docx(rep, Path(tmp, "r.docx"))
        return time.perf_counter() - t

    def commands_once() -> float:
        run = CliRunner().invoke
        s = ["--store", str(path)]
        t = time.perf_counter()
        for args in (["status", "--province", a.province, "--format", "json"],
                     ["progress", "--province", a.province, "--as-of", str(end), "--format",
                      "json"],
                     ["inspections", "due", "--province", a.province, "--as-of", str(end),
                      "--format", "json"],
                     ["hotspots", "--from", str(start), "--to", str(end), "--format",
                      "json"]):
            r = run(cli, s + args)
            assert r.exit_code == 0, r.output
        return time.perf_counter() - t

    with tempfile.TemporaryDirectory() as tmp:
        rep_t = [report_once(tmp) for _ in range(a.runs)]
    cmd_t = [commands_once() for _ in range(a.runs)]
    rep_m, cmd_m = statistics.median(rep_t), statistics.median(cmd_t)
    print(f"report ({a.province}, {a.period}, map + chart + DOCX): median {rep_m:.2f} s "
          f"(runs: {', '.join(f'{x:.2f}' for x in rep_t)}) — target {TARGET_S:.0f} s: "
          f"{'MET' if rep_m < TARGET_S else 'MISSED'} ({rep_m / TARGET_S:.0%} of it)")
    print(f"peer: the 4 CLI commands it replaces (json): median {cmd_m:.2f} s; "
          f"report / commands = {rep_m / cmd_m:.2f}×")
    print(f"load after: {_load()}")


if __name__ == "__main__":
    main()
