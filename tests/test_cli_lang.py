"""One language at a time: EVERY command of the CLI, found by walking click's command tree (so a
new command is covered as soon as it is registered), is run in Vietnamese (the default) and in
English, and ``--help`` of every command and group is rendered in both.

What counts as "text of the other language":

* in Vietnamese output: an English column header or value label of the catalogues
  (schema field labels, :data:`bienmoc.model.labels.DERIVED`, :data:`~bienmoc.model.labels.VALUES`,
  enum labels) as a whole phrase, Python's ``True``/``False``/``NaN``/``None``/``NaT``, and in
  ``--help`` any English help text of the command or its options, or click's own English;
* in either: an identifier shown as it is (``days_idle``, ``bin_start_km``: a column without
  its label), outside quotes, file names, rule and layer names;
* in English output: any word with Vietnamese letters (diacritics or đ) that is not a word of
  the data in the store (province names, descriptions - proper names and data values stay as
  they are) - and in ``--help`` any Vietnamese letter at all.

A new command needs an entry in :data:`ARGS` (how to run it on the demo store) - the test fails
for a command it does not know.
"""
from __future__ import annotations

import re
import shutil
import unicodedata

import click
import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner

from bienmoc.cli.lang import HELP, text_for
from bienmoc.cli.main import main
from bienmoc.model.enums import _LABELS
from bienmoc.model.labels import DERIVED, VALUES
from bienmoc.model.layers import SCHEMAS

AS_OF = "2025-06-30"


def _walk(cmd: click.Command, path: tuple = ()):
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.commands):
            yield from _walk(cmd.commands[name], path + (name,))


COMMANDS = [(" ".join(p), c) for p, c in _walk(main)]
LEAVES = [p for p, c in COMMANDS if not isinstance(c, click.Group)]

#: How to run each command on a copy of the demo store: lists of (arguments, exit code).
#: ``{tmp}``, ``{dem}``, ``{points}``, ``{gates}``, ``{lon}``/``{lat}`` (of marker LA 207) are
#: filled in. Runs with a non-zero exit code check the error messages.
ARGS: dict[str, list[tuple[list[str], int]]] = {
    "status": [([], 0), (["--by", "border", "--format", "xlsx", "-o", "{tmp}/status.xlsx"], 0)],
    "import": [(["gates", "{gates}", "--mode", "replace"], 0),
               (["markers", "{bad_markers}"], 1)],
    "export": [(["gates", "-o", "{tmp}/gates_out.xlsx"], 0),
               (["incidents", "--format", "xlsx", "-o", "{tmp}/incidents.xlsx"], 0)],
    "layers": [([], 0)],
    "locate": [(["{points}", "--format", "table"], 0)],
    "check": [(["--border", "LA"], 0), (["--border", "LA", "--tolerance", "small=0.001"], 1),
              (["--border", "LA", "--tolerance", "small=0.001", "--format", "xlsx", "-o",
                "{tmp}/check.xlsx"], 1)],
    "spacing": [(["--border", "LA"], 0), (["--border", "LA", "--max-spacing", "3000"], 0)],
    "lengths": [([], 0), (["--by", "border", "--format", "xlsx", "-o", "{tmp}/len.xlsx"], 0)],
    "hotspots": [(["--top", "5"], 0), (["--from", "2030-01-01"], 0),
                 (["--format", "xlsx", "-o", "{tmp}/hot.xlsx"], 0)],
    "progress": [(["--as-of", AS_OF], 0),
                 (["--as-of", AS_OF, "--format", "xlsx", "-o", "{tmp}/progress.xlsx"], 0)],
    "inspections due": [(["--as-of", AS_OF, "--border", "LA"], 0),
                        (["--as-of", AS_OF, "--border", "LA", "--format", "xlsx", "-o",
                          "{tmp}/due.xlsx"], 0)],
    "history": [(["207", "--border", "LA"], 0), (["255", "--border", "LA"], 0),
                (["207", "--border", "LA", "--format", "xlsx", "-o", "{tmp}/h.xlsx"], 0)],
    "record progress": [(["W-000004", "--date", "2025-06-01", "--percent", "60"], 0),
                        (["W-000004", "--date", "2025-06-02", "--percent", "10"], 1)],
    "record inspection": [(["207", "--border", "LA", "--date", "2025-06-01", "--team", "joint",
                            "--condition", "good"], 0),
                          (["207", "--border", "LA", "--date", "2025-06-01", "--team", "x",
                            "--condition", "y"], 1)],
    "record resurvey": [(["207", "--border", "LA", "--date", "2025-06-01", "--lon", "0",
                          "--lat", "0", "--reason", "thử"], 1)],
    "record incident": [(["--kind", "other", "--lon", "{lon}", "--lat", "{lat}"], 0),
                        (["--kind", "other", "--lon", "{lon}", "--lat", "{lat}",
                          "--occurred", "2099-01-01"], 1)],
    "terrain elevation": [(["{points}", "--dem", "{dem}", "--format", "table", "--slope"], 0)],
    "terrain profile": [(["--border", "LA", "--dem", "{dem}", "--to-km", "30", "--step",
                          "5000", "--format", "table"], 0),
                        (["--border", "LA", "--dem", "{dem}", "--from-km", "99999"], 1)],
    "terrain visibility": [(["--border", "LA", "--dem", "{dem}", "--max-range", "3000"], 0)],
    "strip": [(["--border", "LA", "--to-km", "30", "-o", "{tmp}/strip.svg"], 0)],
    # the world's store holds the patrols of {gpx} (imported by the fixture): importing them
    # again is refused, and without --team it is an error
    "coverage": [(["--border", "LA", "--to", "2026-11-30", "--overdue-days", "10"], 0),
                 (["--border", "LA", "--from", "2026-11-20", "--to", "2026-11-01"], 1)],
    # an XLSForm is bilingual by design (label::Vietnamese (vi) and label::English (en)
    # columns: the phone's language picks one), so its file is not read as a table here
    "forms build": [(["--kind", "inspections", "--output", "{tmp}/form.xlsx"], 0),
                    (["--kind", "incidents", "--output", "{tmp}/nodir/form.xlsx"], 2)],
    # {report_docx} is a report bienmoc wrote in English (every rule passes; its own text is
    # quoted in the "found" column); {plain_docx} a blank Word document (every rule fails)
    "report check": [(["{report_docx}"], 0), (["{plain_docx}"], 1)],
    "terrain fill-elevations": [(["--dem", "{dem}", "--border", "LA", "--dry-run"], 0)],
    "terrain risk": [(["--border", "LA", "--dem", "{dem}"], 0),
                     (["--border", "LA", "--dem", "{dem}", "--by", "section"], 0)],
    "terrain viewshed": [(["--marker", "LA:207", "--dem", "{dem}", "--radius", "3000",
                           "--format", "tif", "-o", "{tmp}/vs.tif"], 0),
                         (["--marker", "LA:99999", "--dem", "{dem}"], 1)],
}
ARGS["import"] += [(["patrols", "{gpx}", "--team", "Tổ 1"], 1), (["patrols", "{gpx}"], 1)]
# the store's schema and users (the GeoPackage of the world; PostGIS has its own tests)
ARGS.update({
    "store check": [([], 0)],
    "store init": [([], 0), (["--app-role", "bienmoc_app"], 1)],
    "store migrate": [([], 0)],
    "store copy": [(["{store_path}", "{tmp}/copy.gpkg"], 0),
                   (["{store_path}", "{store_path}"], 1)],
    # (a user is added once per module: the English run meets the Vietnamese run's user)
    "users add": [(["nguyen van a", "--role", "editor"], 1)],
    "users list": [([], 0)],
    "users disable": [(["khong.co"], 1)],
})
ARGS["check"] += [(["--border", "LA", "--dem", "{dem}"], 0)]
#: Commands that cannot run in a test, and why (their --help is still checked).
NOT_RUN = {"serve": "starts a web server that only returns when stopped"}


# -- what "the other language" is -------------------------------------------------------------

def _has_vi(word: str) -> bool:
    """A word with Vietnamese letters: đ, or a letter with a diacritic."""
    return "đ" in word.lower() or any(unicodedata.combining(c)
                                      for c in unicodedata.normalize("NFD", word))


def _english_phrases() -> set[str]:
    """English labels whose Vietnamese differs: headers and value labels of the catalogues."""
    pairs = list(DERIVED.values())
    pairs += [(f.vi, f.en) for s in SCHEMAS.values() for f in s.fields]
    pairs += [lab for codes in VALUES.values() for lab in codes.values()]
    import bienmoc.analysis.progress  # noqa: F401  (WorkStatus labels)

    pairs += [lab for enum in _LABELS.values() for lab in enum.values()]
    return {en for vi, en in pairs if en and en != vi and len(en) > 2}


EN_PHRASES = sorted(_english_phrases(), key=len, reverse=True)
PY_WORDS = re.compile(r"\b(True|False|NaN|nan|None|NaT|<NA>)\b")


def english_in(text: str) -> list[str]:
    found = [p for p in EN_PHRASES if re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", text)]
    return found + PY_WORDS.findall(text)


SNAKE = re.compile(r"(?<![\w'./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w'./-])")


def raw_names_in(text: str) -> list[str]:
    """Identifiers shown as they are (snake_case: a column or code without its label),
    outside quotes and file names; rule names (``--allow far``) and layer names (``export
    work_progress``) are what users type."""
    from bienmoc.records.rules import RULE_NAMES

    from bienmoc.cli.io import _LOG_TITLES  # the store's logs: layer names too

    return sorted(set(SNAKE.findall(text)) - set(RULE_NAMES) - set(SCHEMAS) - set(_LOG_TITLES))


def vietnamese_in(text: str, data_words: set[str]) -> list[str]:
    words = re.findall(r"\w+", text)
    return sorted({w for w in words if _has_vi(w) and w.casefold() not in data_words})


# -- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory, demo_store_path):
    """A writable demo store, a DEM under the Laos border, a points file, files to import."""
    import rasterio
    from rasterio.transform import from_origin

    from bienmoc.io.files import export_layer
    from bienmoc.storage import GeoPackageStore

    tmp = tmp_path_factory.mktemp("lang")
    path = tmp / "demo.gpkg"
    shutil.copy(demo_store_path, path)
    path.chmod(0o644)
    store = GeoPackageStore(path)
    # a rolling DEM in lon/lat, 0.02° cells over the Laos border
    west, north, cell = 101.5, 23.0, 0.02
    rows, cols = np.mgrid[0:700, 0:350]
    z = 600 + 400 * np.sin(rows / 9.0) * np.cos(cols / 7.0)
    dem = tmp / "dem.tif"
    with rasterio.open(dem, "w", driver="GTiff", width=350, height=700, count=1,
                       dtype="float32", crs="EPSG:4326",
                       transform=from_origin(west, north, cell, cell)) as ds:
        ds.write(z.astype("float32"), 1)
    markers = store.read("markers")
    m207 = markers[(markers["border"] == "LA") & (markers["number"] == "207")].geometry.iloc[0]
    points = tmp / "points.csv"
    points.write_text("name,lon,lat\nA,103.81,20.85\nB,104.49,20.38\n", encoding="utf-8")
    gates = tmp / "gates.xlsx"
    export_layer(store.read("gates"), "xlsx", gates, kind="gates", lang="vi")
    bad = tmp / "bad_markers.csv"
    bad.write_text("number,border,kind,arrangement,construction_status,condition,lon,lat\n"
                   "0x1,LA,big,single,built,good,103.8,20.8\n"
                   "207,LA,small,single,built,good,200,95\n", encoding="utf-8")
    # patrols along the Laos line (coverage), imported through the one write path
    from bienmoc.geometry.locate import BorderModel
    from bienmoc.io.tracks import import_patrols
    from bienmoc.testing_patrols import along_line, write_gpx_by_hand

    ix = BorderModel.from_source(store).index
    gpx = tmp / "patrol.gpx"
    write_gpx_by_hand(gpx, [along_line(ix, "LA", [(10000, 20000, 100), (23000, 30000, 100)],
                                       patrol_id="a", interval_s=30)])
    import_patrols(store, gpx, team="Tổ 1")
    # a report written by bienmoc (in English) and a blank Word document, for report check
    import docx

    report_docx = tmp / "report_en.docx"
    r = CliRunner().invoke(main, ["--store", store.uri, "report", "--province", "Sơn La",
                                  "--period", "2025-H1", "--lang", "en", "--no-maps", "-o",
                                  str(report_docx)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    plain_docx = tmp / "plain.docx"
    docx.Document().save(plain_docx)
    return {"store": store, "tmp": tmp, "dem": dem, "points": points, "gates": gates,
            "bad_markers": bad, "lon": f"{m207.x:.6f}", "lat": f"{m207.y:.6f}", "gpx": gpx,
            "report_docx": report_docx, "plain_docx": plain_docx, "store_path": store.uri}


def _data_words(store) -> set[str]:
    """Every word of the store's text values (names, descriptions, notes ...)."""
    words = set()
    for layer in store.layers():
        df = store.read(layer)
        for col in df.columns:
            if col != "geometry" and df[col].dtype == object:
                for v in df[col].dropna():
                    if isinstance(v, str):
                        words.update(w.casefold() for w in re.findall(r"\w+", v))
    return words


def _xlsx_text(path) -> str:
    wb = openpyxl.load_workbook(path)
    return "\n".join(" ".join("" if c.value is None else str(c.value) for c in row)
                     for ws in wb for row in ws.iter_rows()) + "\n" + " ".join(wb.sheetnames)


# -- --help of every command -------------------------------------------------------------------

@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: p or "bienmoc")
def test_help_in_vietnamese_has_no_english(path):
    cmd = dict(COMMANDS)[path]
    r = CliRunner().invoke(main, [*path.split(), "--help"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    out = r.output
    for word in ("Usage:", "Options:", "Commands:", "Show this message", "[default:",
                 "[required]"):
        assert word not in out, word
    assert "Cách dùng:" in out and "Tùy chọn:" in out
    missing = []
    if text_for(path, None, "vi", None) is None:
        missing.append(path or "(root)")
    for p in cmd.params:
        if isinstance(p, click.Option) and not p.hidden and p.help is not None \
                and p.name not in ("help", "version"):
            name = max(p.opts, key=len)
            vi = text_for(path, name, "vi", None)
            if vi is None:
                missing.append(f"{path} {name}".strip())
            else:
                first = " ".join(vi.split()[:4])
                assert first in " ".join(out.split()), (name, first)
    assert not missing, f"no Vietnamese help (add to bienmoc.cli.lang.HELP): {missing}"
    en_help = [cmd.help] + [p.help for p in cmd.params if isinstance(p, click.Option)]
    flat = " ".join(out.split())
    for h in en_help:
        if h:
            assert " ".join(h.split()) not in flat, h
    assert not PY_WORDS.findall(out)


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: p or "bienmoc")
def test_help_in_english_has_no_vietnamese(path, monkeypatch):
    monkeypatch.setenv("BIENMOC_LANG", "en")  # the environment variable alone switches
    r = CliRunner().invoke(main, [*path.split(), "--help"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "Usage:" in r.output and "Options:" in r.output
    assert vietnamese_in(r.output, set()) == []
    r2 = CliRunner().invoke(main, ["--lang", "en", *path.split(), "--help"])
    assert r2.output == r.output


def test_help_keys_name_real_commands_and_options():
    """A catalogue entry for a command or option that does not exist is a typo."""
    known = {p for p, _ in COMMANDS}
    options = {(p, max(o.opts, key=len)) for p, c in COMMANDS for o in c.params
               if isinstance(o, click.Option)}
    for key in HELP:
        if not key or key.startswith("--"):
            continue
        head, _, opt = key.rpartition(" --")
        if opt and (head, "--" + opt) in options:
            continue
        assert key in known, f"HELP[{key!r}] names no command or option"


# -- every command, run ------------------------------------------------------------------------

def test_every_command_has_a_run():
    unknown = [p for p in LEAVES if p not in ARGS and p not in NOT_RUN]
    assert not unknown, f"add how to run these commands to ARGS in {__file__}: {unknown}"


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("path", [p for p in LEAVES if p not in NOT_RUN])
def test_command_output_is_in_one_language(world, path, lang):
    if path not in ARGS:
        pytest.fail(f"add how to run {path!r} to ARGS")
    store = world["store"]
    data = _data_words(store) | {"bienmoc"}
    for i, (args, code) in enumerate(ARGS[path]):
        filled = [a.format(**{k: v for k, v in world.items() if k != "store"}) for a in args]
        tmp_outputs = [a for a in filled if a.startswith(str(world["tmp"])) and
                       a.endswith(".xlsx") and "-o" in filled]
        lang_args = [] if lang == "vi" else ["--lang", "en"]
        r = CliRunner().invoke(main, ["--store", store.uri, *lang_args, *path.split(), *filled],
                               catch_exceptions=False)
        assert r.exit_code == code, (filled, r.output)
        if code:
            assert r.output.strip(), "an error must say something"
        text = r.output
        for out in tmp_outputs:
            text += "\n" + _xlsx_text(out)
        where = f"{path} {' '.join(filled)} [{lang}]"
        assert raw_names_in(text) == [], (where, raw_names_in(text), text[:3000])
        if lang == "vi":
            assert english_in(text) == [], (where, english_in(text), text[:3000])
        else:
            assert vietnamese_in(text, data) == [], (where, vietnamese_in(text, data),
                                                     text[:3000])


def test_formats_follow_the_language(world):
    """The known faults of issue 12: numbers, dates, booleans, missing values and the
    empty check, in each language."""
    store = world["store"].uri

    def run(*args):
        r = CliRunner().invoke(main, ["--store", store, *args], catch_exceptions=False)
        return r.output

    vi, en = run("spacing", "--border", "LA"), run("--lang", "en", "spacing", "--border", "LA")
    assert "2.483,2" in vi and "2,483.2" in en and "2483.2" not in vi + en
    vi = run("inspections", "due", "--as-of", AS_OF, "--border", "LA")
    en = run("--lang", "en", "inspections", "due", "--as-of", AS_OF, "--border", "LA")
    assert "Loại mốc" in vi and "Loại công trình" not in vi
    assert re.search(r"\b\d\d/\d\d/20\d\d\b", vi) and not re.search(r"\b20\d\d-\d\d-\d\d\b", vi)
    assert re.search(r"\b20\d\d-\d\d-\d\d\b", en) and not re.search(r"\b\d\d/\d\d/20\d\d\b", en)
    assert ("Không" in vi or "Có" in vi) and ("No" in en or "Yes" in en)
    h = run("history", "207", "--border", "LA")
    assert "xây dựng mốc" in h and "—" in h and "construction" not in h
    assert "05/11/2012" in h
    h = run("--lang", "en", "history", "207", "--border", "LA")
    assert "2012-11-05" in h and "construction" in h
    assert "Không phát hiện vấn đề nào." in run("check", "--border", "LA")
    assert "No problems found." in run("--lang", "en", "check", "--border", "LA")
    assert "(0)" not in run("check", "--border", "LA")


def test_labelled_exports_write_yes_no_in_the_language(store, tmp_path):
    for lang, yes_no in (("vi", {"Có", "Không"}), ("en", {"Yes", "No"})):
        out = tmp_path / f"m_{lang}.xlsx"
        r = CliRunner().invoke(main, ["--store", store.uri, "--lang", lang, "export", "markers",
                                      "-o", str(out)], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        ws = openpyxl.load_workbook(out).active
        head = [c.value for c in ws[1]]
        col = head.index("Mốc ba biên giới" if lang == "vi" else "Tri-border")
        values = {row[col].value for row in ws.iter_rows(min_row=2)}
        assert values and values <= yes_no, values


def test_newer_commands_follow_the_language(world):
    """Known answers for commands merged after the catalogue: the fixture's patrol covers
    chainage 10-20 km and 23-30 km of the Laos line on 1 Nov 2026 (unilateral)."""
    store = world["store"].uri

    def run(*args):
        r = CliRunner().invoke(main, ["--store", store, *args], catch_exceptions=False)
        return r.output

    cov = ("coverage", "--border", "LA", "--to", "2026-11-30", "--overdue-days", "10")
    vi, en = run(*cov), run("--lang", "en", *cov)
    assert re.search(r"10\.000\s+20\.000\s+đơn phương\s+01/11/2026", vi), vi[:600]
    assert re.search(r"10,000\s+20,000\s+unilateral\s+2026-11-01", en), en[:600]
    assert "Hình thức tuần tra" in vi and "Lần tuần tra gần nhất" in vi
    assert "Quá hạn" in vi and "Overdue" in en and "Có" in vi and "Yes" in en
    assert "17,0 km" in vi and "17.0 km" in en  # 10 km + 7 km patrolled
    # the CSV is data for scripts in both languages: field names, codes, ISO dates
    csv_vi = run("coverage", "--border", "LA", "--to", "2026-11-30", "--format", "csv")
    assert "covered_share" in csv_vi and "2026-11-01" in csv_vi and "01/11/2026" not in csv_vi
    # report check: rule names and findings in the reader's language, numbers in its format
    vi = run("report", "check", str(world["plain_docx"]))
    en = run("--lang", "en", "report", "check", str(world["plain_docx"]))
    assert "KHÔNG ĐẠT" in vi and "phông theo chủ đề" in vi and "215,9×279,4" in vi
    assert "theme font" not in vi and "no table" not in vi and "top 25" not in vi
    assert "FAIL" in en and "theme font" in en and "215.9×279.4" in en
    # terrain risk: exposure classes as labels
    risk = ("terrain", "risk", "--border", "LA", "--dem", str(world["dem"]))
    vi, en = run(*risk), run("--lang", "en", *risk)
    assert re.search(r"\b(thấp|trung bình|cao)\s*$", vi.splitlines()[-1])
    assert re.search(r"\b(low|medium|high)\s*$", en.splitlines()[-1])
    assert "Mức phơi nhiễm sạt lở" in vi and "Landslide exposure" in en
