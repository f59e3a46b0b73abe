"""Application numbers and resident ID numbers: recognising, checking and masking them.

Application numbers are "SC" followed by 10 digits (SC2026000123). Resident ID numbers follow
GB 11643-1999: a 6-digit area code, an 8-digit birth date YYYYMMDD, a 3-digit sequence and a
check character. Everything here is pure and has no database access.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from operator import mul

APPLICATION_NUMBER_EXAMPLE = "SC2026000123"
APPLICATION_NUMBER_FORMAT = '"SC" followed by 10 digits'

RESIDENT_ID_LENGTH = 18
ID_TAIL_LENGTH = 6

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARACTERS = "10X98765432"
# The oldest published example (440524188001010014) is born in 1880; earlier years are typos.
_EARLIEST_BIRTH_YEAR = 1800

# People type "sc-2026 000123" or "SC 2026-000-123": separators may sit anywhere among the
# digits. The letters must not be the end of a longer word ("disc2026...") and an 11th digit
# means the number is something else.
_SEPARATORS = r"[\s\-\u2010-\u2015]*"
_APPLICATION_NUMBER_IN_TEXT = re.compile(
    rf"(?<![A-Za-z0-9])SC{_SEPARATORS}((?:[0-9]{_SEPARATORS}){{9}}[0-9])(?![0-9])",
    re.IGNORECASE,
)
_APPLICATION_NUMBER_CANONICAL = re.compile(r"SC[0-9]{10}")
_APPLICATION_NUMBER_WHOLE = re.compile(
    rf"SC{_SEPARATORS}((?:[0-9]{_SEPARATORS}){{9}}[0-9])", re.IGNORECASE
)

# A run of digits and spaces ending in a digit or X, not glued to other letters or digits.
# Taking the whole run (rather than any six characters in it) stops "1 2 3 4 5 6 7" or a full
# 18-character number from yielding a tail.
_DIGIT_RUN = re.compile(r"(?<![A-Za-z0-9])[0-9](?:[0-9 \t]*[0-9Xx])?(?![A-Za-z0-9])")
_ID_TAIL = re.compile(r"[0-9]{5}[0-9X]")


def _fold(text: str) -> str:
    # NFKC turns full-width characters (ＳＣ２０２６…, common in Chinese input methods) into
    # their ASCII forms, so the patterns below only need to know ASCII.
    return unicodedata.normalize("NFKC", text)


def _digits_only(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


def normalise_application_number(text: str | None) -> str | None:
    """Find an application number in free text and return it as "SC" + 10 digits.

    Accepts lower case, spaces, hyphens and surrounding words ("it's sc-2026 000123" gives
    "SC2026000123"). Returns None when the text holds no such number or more than one
    different number (asking again beats guessing which one was meant).
    """
    if not text:
        return None
    found = {
        "SC" + _digits_only(match.group(1))
        for match in _APPLICATION_NUMBER_IN_TEXT.finditer(_fold(text))
    }
    return found.pop() if len(found) == 1 else None


def parse_application_number(text: str | None) -> str | None:
    """Return ``text`` as "SC" + 10 digits when the whole text is one application number.

    Stricter than :func:`normalise_application_number`: for fields that must hold only the
    number (a CSV column, a command-line argument). Case, spaces and hyphens are forgiven.
    """
    if not text:
        return None
    if _APPLICATION_NUMBER_CANONICAL.fullmatch(text):
        return text  # the common case in bulk imports; skips folding
    match = _APPLICATION_NUMBER_WHOLE.fullmatch(_fold(text).strip())
    return "SC" + _digits_only(match.group(1)) if match else None


def resident_id_check_character(first17: str) -> str:
    """Return the GB 11643 check character ("0"-"9" or "X") for the first 17 digits."""
    if len(first17) != RESIDENT_ID_LENGTH - 1 or not first17.isascii() or not first17.isdigit():
        raise ValueError("expected exactly 17 digits")
    total = sum(map(mul, map(int, first17), _ID_WEIGHTS))
    return _ID_CHECK_CHARACTERS[total % 11]


def _birth_date_is_real(id_number: str) -> bool:
    try:
        born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return False
    return born.year >= _EARLIEST_BIRTH_YEAR


def resident_id_problem(s: str | None) -> str | None:
    """Say what is wrong with a resident ID number, or return None when it is valid.

    The reason never repeats the number itself: it ends up in logs and import reports.
    """
    if not s:
        return "ID number is missing"
    if len(s) != RESIDENT_ID_LENGTH:
        return f"ID number must have {RESIDENT_ID_LENGTH} characters, not {len(s)}"
    first17, check = s[:17], s[17].upper()
    if not (first17.isascii() and first17.isdigit() and check in "0123456789X"):
        return "ID number must be 17 digits followed by a digit or X"
    if not _birth_date_is_real(s):
        return "ID number's birth date (characters 7-14) is not a real date"
    if resident_id_check_character(first17) != check:
        return "ID number's check character (the last one) does not match the other 17"
    return None


def is_valid_resident_id(s: str | None) -> bool:
    """Tell whether ``s`` is exactly an 18-character resident ID number with a correct check.

    The check character may be a lower-case x. The birth date part must be a real date. No
    spaces or other characters are allowed (see :func:`normalise_resident_id` for input).
    """
    return resident_id_problem(s) is None


def normalise_resident_id(text: str | None) -> str | None:
    """Return a resident ID number with spaces removed and an upper-case X, or None if invalid."""
    if not text:
        return None
    candidate = re.sub(r"\s+", "", _fold(text)).upper()
    return candidate if is_valid_resident_id(candidate) else None


def normalise_id_tail(text: str | None) -> str | None:
    """Find the last six characters of an ID number (5 digits + digit or X) in free text.

    Case-insensitive and tolerant of spaces ("last six are 001 02x" gives "00102X"). Returns
    None when there is no such group or several different ones.
    """
    if not text:
        return None
    found = set()
    for match in _DIGIT_RUN.finditer(_fold(text)):
        candidate = re.sub(r"[ \t]", "", match.group(0)).upper()
        if _ID_TAIL.fullmatch(candidate):
            found.add(candidate)
    return found.pop() if len(found) == 1 else None


def id_tail(id_number: str) -> str:
    """Return the last six characters of a stored ID number, X in upper case."""
    return id_number[-ID_TAIL_LENGTH:].upper()


def mask_name(name: str | None) -> str:
    """Mask a holder's name for display: "Zhang Xiaoming" -> "Z** Xiaoming", "张小明" -> "张**".

    Only the first character of the first word survives; later words are shown so a parent can
    tell which child's application it is. An empty name gives "***".
    """
    words = (name or "").split()
    if not words:
        return "***"
    return " ".join([words[0][0] + "**", *words[1:]])


def mask_id_number(id_number: str | None) -> str:
    """Mask an ID number for display: "11010519491231002X" -> "1101**********002X".

    At most the first 4 and the last 4 characters are shown, and never more than half of a
    short (malformed) value, so the full number is never printed.
    """
    value = re.sub(r"\s+", "", id_number or "").upper()
    if not value:
        return "***"
    shown = min(4, len(value) // 4)
    hidden = len(value) - 2 * shown
    return value[:shown] + "*" * hidden + (value[-shown:] if shown else "")
