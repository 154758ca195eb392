"""The one border/province filter (bienmoc.model.places) with known answers."""
import unicodedata

import pandas as pd

from bienmoc.analysis.status import marker_status
from bienmoc.model.places import ascii_fold, in_area, province_key


def _frame():
    return pd.DataFrame({"border": ["LA", "LA", "CN", "KH"],
                         "province": ["Sơn La", "Điện Biên", "Lào Cai", None],
                         "n": [1, 2, 3, 4]})


def test_a_province_typed_any_way_is_the_stored_one():
    df = _frame()
    decomposed = unicodedata.normalize("NFD", "Sơn La")
    assert decomposed != "Sơn La"  # (the test means something)
    for typed in ("Sơn La", "SƠN LA", "  sơn la ", decomposed):
        assert list(in_area(df, province=typed)["n"]) == [1], typed
    assert province_key(decomposed) == province_key("SƠN LA")


def test_border_is_exact_and_empty_filters_nothing():
    df = _frame()
    assert list(in_area(df, border="LA")["n"]) == [1, 2]
    assert list(in_area(df, border="la")["n"]) == []
    assert list(in_area(df, border="LA", province="Điện Biên")["n"]) == [2]
    assert list(in_area(df, border="CN", province="Điện Biên")["n"]) == []
    for nothing in (None, "", "   "):
        assert list(in_area(df, province=nothing)["n"]) == [1, 2, 3, 4]


def test_ascii_fold_drops_accents_and_folds_d():
    assert ascii_fold(" Điện Biên ") == "dien bien"
    assert ascii_fold("ĐẮK NÔNG") == "dak nong"


def test_status_filters_through_the_same_rule(demo_store_path):
    from bienmoc.storage import GeoPackageStore

    store = GeoPackageStore(demo_store_path)
    whole = marker_status(store, by=["province"])
    name = next(p for p in whole["province"] if isinstance(p, str) and p != ascii_fold(p))
    typed = unicodedata.normalize("NFD", name.upper())
    got = marker_status(store, by=["province"], province=typed)
    assert list(got["province"]) == [name]
    mine = whole.loc[whole["province"] == name, "markers_total"].sum()
    assert got["markers_total"].sum() == mine > 0
