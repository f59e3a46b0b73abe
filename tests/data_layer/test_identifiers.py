"""Application numbers and resident ID numbers: what people type and what must be shown."""

from __future__ import annotations

import pytest

from bot.identifiers import (
    APPLICATION_NUMBER_EXAMPLE,
    id_tail,
    is_valid_resident_id,
    mask_id_number,
    mask_name,
    normalise_application_number,
    normalise_id_tail,
    normalise_resident_id,
    parse_application_number,
    resident_id_check_character,
    resident_id_problem,
)

PUBLISHED_VALID_IDS = ["11010519491231002X", "440524188001010014"]


def test_example_is_a_valid_application_number():
    assert parse_application_number(APPLICATION_NUMBER_EXAMPLE) == APPLICATION_NUMBER_EXAMPLE
    assert normalise_application_number(APPLICATION_NUMBER_EXAMPLE) == APPLICATION_NUMBER_EXAMPLE


@pytest.mark.parametrize(
    "typed",
    [
        "SC2026000123",
        "sc2026000123",
        "Sc2026000123",
        "SC 2026 000123",
        "sc-2026-000123",
        "SC-2026 000 123",
        "  SC2026000123  ",
        "it's sc-2026 000123",
        "My application number is SC2026000123.",
        "number: SC2026000123, thanks",
        "(SC2026000123)",
        "我的申请号是SC2026000123",
        "ＳＣ２０２６０００１２３",  # full-width, as Chinese input methods type it
        "SC2026000123\n",
        "SC 2026–000123",  # en dash from a word processor
        "SC2026000123 SC2026000123",  # the same number twice is still one number
    ],
)
def test_application_number_found_in_what_people_type(typed):
    assert normalise_application_number(typed) == "SC2026000123"


@pytest.mark.parametrize(
    "typed",
    [
        None,
        "",
        "hello",
        "SC202600012",  # 9 digits
        "SC20260001234",  # 11 digits
        "SC 2026 000 1234",  # 11 digits with spaces
        "2026000123",  # no prefix
        "XC2026000123",
        "DISC2026000123",  # "SC" inside a word
        "SCA2026000123",
        "S C2026000123",
        "SC2026000123 and SC2026000124",  # two different numbers: ask again
    ],
)
def test_no_application_number_in_text(typed):
    assert normalise_application_number(typed) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("sc 2026-000123", "SC2026000123"),
        (" SC2026000123 ", "SC2026000123"),
        ("it's sc-2026 000123", None),  # surrounding words are not a number field
        ("SC2026000123x", None),
        ("SC20260001", None),
        ("", None),
    ],
)
def test_parse_application_number_takes_only_a_whole_number(typed, expected):
    assert parse_application_number(typed) == expected


@pytest.mark.parametrize(
    ("first17", "check"),
    [("11010519491231002", "X"), ("44052418800101001", "4")],
)
def test_check_character_of_published_examples(first17, check):
    assert resident_id_check_character(first17) == check


@pytest.mark.parametrize("bad", ["1101051949123100", "110105194912310021", "1101051949123100A", ""])
def test_check_character_needs_17_digits(bad):
    with pytest.raises(ValueError):
        resident_id_check_character(bad)


def test_every_check_character_is_reachable():
    # Sequence numbers 000-999 cover every remainder mod 11, so all 11 characters occur.
    seen = {resident_id_check_character(f"11010120190312{n:03d}") for n in range(1000)}
    assert seen == set("10X98765432")


@pytest.mark.parametrize("valid", [*PUBLISHED_VALID_IDS, "11010519491231002x"])
def test_published_ids_are_valid(valid):
    assert is_valid_resident_id(valid)
    assert resident_id_problem(valid) is None


@pytest.mark.parametrize(
    ("invalid", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("11010519491231002", "18 characters, not 17"),
        ("11010519491231002X0", "18 characters, not 19"),
        ("110105194912310021", "check character"),  # wrong check digit
        ("440524188001010015", "check character"),
        ("1101051949123100XX", "17 digits followed by"),
        ("11010519491231002Y", "17 digits followed by"),
        ("11010519491331002X", "not a real date"),  # month 13
        ("110105194902300025", "not a real date"),  # 30 February
        ("110105000001010012", "not a real date"),  # year 0000
        ("11010517000101001X", "not a real date"),  # 1700: before any living holder
        ("１１０１０５１９４９１２３１００２Ｘ", "17 digits followed by"),  # full-width
        (" 1010519491231002X", "17 digits followed by"),
    ],
)
def test_invalid_ids_are_refused_with_a_reason(invalid, reason):
    assert not is_valid_resident_id(invalid)
    assert reason in resident_id_problem(invalid)


def test_id_problem_never_repeats_the_number():
    assert "110105194912310021" not in resident_id_problem("110105194912310021")


def test_leap_day_birth_date_is_real_only_in_leap_years():
    leap = "11010520000229" + "001"
    not_leap = "11010519000229" + "001"
    assert is_valid_resident_id(leap + resident_id_check_character(leap))
    assert not is_valid_resident_id(not_leap + resident_id_check_character(not_leap))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("11010519491231002x", "11010519491231002X"),
        ("110105 19491231 002X", "11010519491231002X"),
        ("４４０５２４１８８００１０１００１４", "440524188001010014"),
        ("110105194912310021", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_resident_id(typed, expected):
    assert normalise_resident_id(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("00102X", "00102X"),
        ("00102x", "00102X"),
        ("001 02x", "00102X"),
        ("0 0 1 0 2 X", "00102X"),
        ("last six are 00102x", "00102X"),
        ("the last six: 010014.", "010014"),
        ("it's 010014 I think", "010014"),
        ("末六位是00102X", "00102X"),
        ("００１０２Ｘ", "00102X"),
        ("born 1990, tail 00102x", "00102X"),  # the year is not six characters
        ("SC2026000123 00102X", "00102X"),  # the application number is not a tail
        ("00102X 00102x", "00102X"),  # the same tail twice
    ],
)
def test_id_tail_found_in_what_people_type(typed, expected):
    assert normalise_id_tail(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        None,
        "",
        "no idea",
        "0010X2",  # X only as the last character
        "X00102",
        "0010",
        "0010222",  # seven digits
        "1 2 3 4 5 6 7",  # seven digits with spaces
        "11010519491231002X",  # a whole ID number is not "the last six"
        "ab00102X",  # glued to letters
        "00102Xy",
        "001022 and 334455",  # two different candidates: ask again
    ],
)
def test_no_id_tail_in_text(typed):
    assert normalise_id_tail(typed) is None


def test_id_tail_of_stored_number():
    assert id_tail("11010519491231002x") == "31002X"
    assert id_tail("440524188001010014") == "010014"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("Zhang Xiaoming", "Z** Xiaoming"),
        ("Zhang  Xiaoming ", "Z** Xiaoming"),
        ("Mary Ann Smith", "M** Ann Smith"),
        ("Madonna", "M**"),
        ("张小明", "张**"),
        ("欧阳娜娜", "欧**"),
        ("Z", "Z**"),
        ("", "***"),
        ("   ", "***"),
        (None, "***"),
    ],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_masked_name_hides_the_family_name_and_length():
    assert "Zhang" not in mask_name("Zhang Xiaoming")
    assert mask_name("张小明") == mask_name("张明")  # the number of characters does not leak


@pytest.mark.parametrize(
    ("id_number", "masked"),
    [
        ("11010519491231002X", "1101**********002X"),
        ("11010519491231002x", "1101**********002X"),
        ("440524188001010014", "4405**********0014"),
        ("12345678", "12****78"),
        ("123456", "1****6"),
        ("123", "***"),
        ("", "***"),
        (None, "***"),
    ],
)
def test_mask_id_number(id_number, masked):
    assert mask_id_number(id_number) == masked


@pytest.mark.parametrize(
    "id_number", [*PUBLISHED_VALID_IDS, "1234567890", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
)
def test_masked_id_never_shows_the_number_or_more_than_eight_characters(id_number):
    masked = mask_id_number(id_number)
    assert masked != id_number.upper()
    assert len(masked.replace("*", "")) <= min(8, len(id_number) // 2)
    assert len(masked) == len(id_number)
