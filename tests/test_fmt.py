"""Numbers, dates, yes/no and missing values per language (bienmoc.fmt), and the one source
of column labels (bienmoc.model.labels)."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bienmoc.fmt import (MISSING, fmt_bool, fmt_date, fmt_length, fmt_number, format_table,
                         label_table)
from bienmoc.model.labels import DERIVED, column_label, value_label
from bienmoc.model.layers import SCHEMAS


@pytest.mark.parametrize("x, digits, vi, en", [
    (3785.7, None, "3.785,7", "3,785.7"),
    (89_000_000_000.0, 0, "89.000.000.000", "89,000,000,000"),
    (1234567, None, "1.234.567", "1,234,567"),
    (-0.04, 1, "0,0", "0.0"),
    (-1234.5, 2, "-1.234,50", "-1,234.50"),
    (0.1 + 0.2, None, "0,3", "0.3"),          # no float noise: at most 7 decimals
    (np.float32(2.5), None, "2,5", "2.5"),
])
def test_numbers(x, digits, vi, en):
    assert fmt_number(x, "vi", digits) == vi and fmt_number(x, "en", digits) == en


@pytest.mark.parametrize("v", [None, float("nan"), pd.NA, pd.NaT, np.nan])
def test_missing_is_a_dash_in_both_languages(v):
    assert fmt_number(v, "vi") == fmt_date(v, "en") == fmt_bool(v, "vi") == MISSING == "—"


def test_dates_lengths_and_yes_no():
    for d in (dt.date(2020, 3, 15), pd.Timestamp("2020-03-15"), np.datetime64("2020-03-15"),
              "2020-03-15"):
        assert fmt_date(d, "vi") == "15/03/2020" and fmt_date(d, "en") == "2020-03-15"
    assert fmt_date(pd.Timestamp("2020-03-15 08:30"), "vi") == "15/03/2020 08:30"
    assert fmt_length(3785.66, "vi") == "3.785,7 m" and fmt_length(3785.66, "en") == "3,785.7 m"
    assert fmt_length(38_000, "vi") == "38,0 km" and fmt_length(38_000, "en") == "38.0 km"
    assert (fmt_bool(True, "vi"), fmt_bool(np.bool_(False), "vi")) == ("Có", "Không")
    assert (fmt_bool(True, "en"), fmt_bool(False, "en")) == ("Yes", "No")
    with pytest.raises(ValueError):
        fmt_number(1, "fr")


def test_a_column_label_depends_on_the_layer_of_the_rows():
    assert column_label("kind", "vi", "markers") == "Loại mốc"
    assert column_label("kind", "vi", "works") == "Loại công trình"
    assert column_label("kind", "vi", "incidents") == "Loại vụ việc"
    assert column_label("days_idle", "en") == "Days without update"
    assert column_label("occurred_date", "vi") == "Ngày xảy ra"      # one layer has it
    assert column_label("not_a_column", "vi") == "not_a_column"
    # an event "construction" is a marker being built, not the incident kind "construction"
    assert value_label("event", "construction", "vi") == "xây dựng mốc"
    assert value_label("kind", "construction", "vi", "incidents") == \
        "xây dựng công trình sát biên giới"
    assert value_label("kind", "stake", "en", "markers") == "reference stake"
    assert value_label("kind", "W-1", "vi", "markers") == "W-1"     # not a code: unchanged


def test_derived_columns_are_not_layer_fields_with_other_labels():
    """The derived catalogue never relabels a field of the layer the rows come from."""
    for schema in SCHEMAS.values():
        for f in schema.fields:
            assert column_label(f.name, "vi", schema.name) == (f.vi or f.name)
    assert all(vi and en for vi, en in DERIVED.values())


def test_tables_one_decimal_count_per_column_and_typed_xlsx_values():
    df = pd.DataFrame({"border": ["LA", "LA"], "spacing_m": [2439.5, 2440.0],
                       "never_inspected": [True, False], "due_date": pd.to_datetime(
                           ["2023-10-16", None]), "kind": ["small", "large"]})
    t = format_table(df, "vi", layer="markers")
    assert list(t.columns) == ["Tuyến biên giới", "Khoảng cách giữa hai mốc (m)",
                               "Chưa kiểm tra lần nào", "Hạn kiểm tra", "Loại mốc"]
    assert t.iloc[:, 1].tolist() == ["2.439,5", "2.440,0"]
    assert t.iloc[:, 2].tolist() == ["Có", "Không"]
    assert t.iloc[:, 3].tolist() == ["16/10/2023", "—"]
    assert t.iloc[:, 4].tolist() == ["mốc tiểu", "mốc đại"]
    x = label_table(df, "en", layer="markers")
    assert x["Spacing (m)"].tolist() == [2439.5, 2440.0]             # numbers stay numbers
    assert pd.api.types.is_datetime64_any_dtype(x["Due"])
    assert x["Kind"].tolist() == ["small marker", "large marker"]
