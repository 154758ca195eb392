import pytest

from bienmoc import InvalidData, MarkerNumber, number_sort_key, parse_number, sort_numbers
from bienmoc.model.numbers import is_valid_number


@pytest.mark.parametrize("text, parsed", [
    ("0", MarkerNumber(0)), ("207", MarkerNumber(207)), ("163/1", MarkerNumber(163, 1)),
    ("222(1)", MarkerNumber(222, 0, 1)), ("1116/1(2)", MarkerNumber(1116, 1, 2)),
    (" 1088/2 ", MarkerNumber(1088, 2)), (96, MarkerNumber(96)),
])
def test_parse(text, parsed):
    assert parse_number(text) == parsed
    assert str(parse_number(text)) == str(text).strip()


@pytest.mark.parametrize("bad", ["", "abc", "12a", "007", "163/", "163/0", "/1", "222(4)",
                                 "222()", "222(1", "1.5", "-3", "163 /1", None, 12.5])
def test_malformed_numbers_are_rejected_with_a_reason(bad):
    with pytest.raises(InvalidData) as e:
        parse_number(bad)
    assert e.value.problems[0].field == "number"
    assert not is_valid_number(bad)


def test_natural_order():
    shuffled = ["164", "163/2", "222(2)", "163", "1000", "163/1", "222(1)", "99", "163/10"]
    assert sort_numbers(shuffled) == ["99", "163", "163/1", "163/2", "163/10", "164",
                                      "222(1)", "222(2)", "1000"]
    assert number_sort_key("163") < number_sort_key("163/1") < number_sort_key("164")


def test_position_drops_the_part():
    assert parse_number("222(2)").position == "222"
    assert parse_number("147/6").position == "147/6"
    assert parse_number("147/6").is_sub and not parse_number("147").is_sub
