"""XLSX that officials can use at once: real dates (dd/mm/yyyy) and numbers, marker numbers as
text cells, Vietnamese headers, widths from content, frozen header row, autofilter, one sheet
per layer or table — for ``export --format xlsx`` and the CLI's report tables alike."""
import datetime as dt

import openpyxl
import pandas as pd
from click.testing import CliRunner

from bienmoc.cli.main import main
from bienmoc.io.write import write_xlsx


def run(store, *args):
    return CliRunner().invoke(main, ["--store", str(getattr(store, "uri", store)), *args],
                              catch_exceptions=False)


def _numbers_like_dates(store):
    m = store.read("markers")
    m.loc[m["number"] == "100/1", "number"] = "3/2"
    m.loc[m["number"] == "101", "number"] = "1/1"
    m.loc[m["number"] == "3/2", "built_date"] = pd.Timestamp("2009-02-03")
    m.loc[m["number"] == "1/1", "built_date"] = pd.Timestamp("2010-12-31")
    store.write("markers", m)
    return m


def _column(ws, header):
    col = [c.value for c in ws[1]].index(header) + 1
    return [ws.cell(row=r, column=col) for r in range(2, ws.max_row + 1)]


def test_export_markers_vi_is_ready_to_use(store, tmp_path):
    markers = _numbers_like_dates(store)
    out = tmp_path / "m.xlsx"
    r = run(store, "export", "markers", "-o", str(out), "--labels", "vi")
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Cột mốc"]
    ws = wb.active
    headers = [c.value for c in ws[1]]
    assert "Số hiệu mốc" in headers and "Tình trạng xây dựng" in headers
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    last = openpyxl.utils.get_column_letter(len(headers))
    assert ws.auto_filter.ref == f"A1:{last}{len(markers) + 1}" == ws.dimensions
    # marker numbers: text cells typed text, never dates
    numbers = _column(ws, "Số hiệu mốc")
    values = [c.value for c in numbers]
    assert "3/2" in values and "1/1" in values and "102(1)" in values
    assert all(c.data_type == "s" and c.number_format == "@" for c in numbers)
    # dates: date cells shown dd/mm/yyyy, the stored dates
    date_cols = [h for h in headers if h and h.startswith("Ngày")]
    assert len(date_cols) == 2, headers
    cells = [c for h in date_cols for c in _column(ws, h) if c.value is not None]
    assert len(cells) == 2 and all(c.is_date and c.number_format == "dd/mm/yyyy" for c in cells)
    built = [dt.datetime(2009, 2, 3), dt.datetime(2010, 12, 31)]
    assert sorted(c.value for c in _column(ws, "Ngày xây dựng xong") if c.value) == built
    # numbers stay numbers
    lon = _column(ws, "lon")
    assert all(c.data_type == "n" and isinstance(c.value, float) for c in lon)
    # widths from content: every column set, the header fits, the widest text wider
    widths = {h: ws.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width
              for i, h in enumerate(headers)}
    for h, w in widths.items():
        assert len(h) + 2 <= w <= 60, (h, w)
    prov = _column(ws, "Tỉnh")
    assert widths["Tỉnh"] >= max(len(c.value) for c in prov if c.value) + 2


def test_export_codes_round_trips_numbers_like_dates(store, tmp_path):
    _numbers_like_dates(store)
    before = store.read("markers")
    out = tmp_path / "m.xlsx"
    assert run(store, "export", "markers", "-o", str(out)).exit_code == 0
    store.write("markers", before.iloc[:0])
    r = run(store, "import", "markers", str(out))
    assert r.exit_code == 0, r.output
    back = store.read("markers")
    assert sorted(back["number"]) == sorted(before["number"])
    assert "3/2" in set(back["number"]) and "1/1" in set(back["number"])
    b = back.set_index("id")["built_date"]
    a = before.set_index("id")["built_date"]
    assert (b.reindex(a.index).dropna() == a.dropna()).all() and b.notna().sum() == a.notna().sum()


def test_write_xlsx_tables(tmp_path):
    out = tmp_path / "r.xlsx"
    long = "Kè bảo vệ mốc " * 20
    write_xlsx({
        "Tiến độ": pd.DataFrame({"Số hiệu": ["3/2", "1/1", "=1+1"], "Số mốc": [3, 12, 7],
                                 "Kinh phí": [1.5e9, 2e9, None],
                                 "Ngày": pd.to_datetime(["2025-02-03", None, "2024-12-31"])
                                 .tz_localize("Asia/Ho_Chi_Minh"),
                                 "Cập nhật": pd.to_datetime(["2025-02-03 08:30", None, None]),
                                 "Ghi chú": ["", long, None]}),
        "a/b": pd.DataFrame({"x": []}),
        "a:b": pd.DataFrame({"y": [1]}),
    }, out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Tiến độ", "a-b", "a-b-2"]
    ws = wb["Tiến độ"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:F4"
    num = [ws.cell(r, 1) for r in (2, 3, 4)]
    assert [c.value for c in num] == ["3/2", "1/1", "=1+1"]
    assert all(c.data_type == "s" and c.number_format == "@" for c in num)   # never a formula
    assert [ws.cell(r, 2).value for r in (2, 3, 4)] == [3, 12, 7]
    assert ws.cell(2, 2).data_type == "n" and ws.cell(2, 2).number_format == "General"
    assert ws.cell(2, 3).value == 1.5e9 and ws.cell(2, 3).number_format == "#,##0"
    d = ws.cell(2, 4)
    assert d.is_date and d.number_format == "dd/mm/yyyy" and d.value == dt.datetime(2025, 2, 3)
    assert ws.cell(3, 4).value is None
    t = ws.cell(2, 5)
    assert t.number_format == "dd/mm/yyyy hh:mm" and t.value == dt.datetime(2025, 2, 3, 8, 30)
    width = {c: ws.column_dimensions[c].width for c in "ABCDEF"}
    assert width["C"] == len("2,000,000,000") + 2
    assert width["F"] == 60 and width["A"] == len("Số hiệu") + 2
    assert width["D"] == len("dd/mm/yyyy") + 2 and width["E"] == len("dd/mm/yyyy hh:mm") + 2
    empty = wb["a-b"]
    assert empty.freeze_panes == "A2" and empty.auto_filter.ref == "A1:A1"


def test_cli_report_xlsx_has_one_ready_sheet_per_table(demo_store_path, tmp_path):
    out = tmp_path / "p.xlsx"
    r = CliRunner().invoke(main, ["--store", str(demo_store_path), "--lang", "vi", "progress",
                                  "--format", "xlsx", "-o", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Tiến độ", "Chậm tiến độ"]
    for ws in wb:
        n = len([c for c in ws[1] if c.value is not None])
        assert n and ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(n)}{ws.max_row}"
        assert all(ws.column_dimensions[openpyxl.utils.get_column_letter(j)].width
                   for j in range(1, n + 1))
    summary = wb["Tiến độ"]
    money = [c for c in _column(summary, "Kinh phí kế hoạch (đồng)") if c.value]
    assert money and all(c.data_type == "n" and c.number_format == "#,##0" for c in money)
    assert all(c.data_type == "n" and c.number_format == "General"
               for c in _column(summary, "Tổng số"))
    stalled = wb["Chậm tiến độ"]
    dates = [c for row in stalled.iter_rows(min_row=2) for c in row if c.is_date]
    assert stalled.max_row > 1 and dates and all(c.number_format == "dd/mm/yyyy" for c in dates)
