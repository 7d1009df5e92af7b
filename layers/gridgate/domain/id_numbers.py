"""Chinese resident identity numbers (GB 11643-1999): structure and check digit.

An 18-character number is a 6-digit area code, the birth date (YYYYMMDD), a 3-digit sequence
(odd for men, even for women) and a check character computed from the first 17 digits. The
registry import rejects numbers whose check character or birth date is wrong, so typing errors
in a data-center export never reach the registry.
"""

from __future__ import annotations

from datetime import date

#: Weights of the 17 leading digits (2^(18-i) mod 11) and the check character for each remainder.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"


def check_character(first17: str) -> str:
    """The check character of the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    return CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def id_number_problem(id_number: str) -> str | None:
    """Why `id_number` is not a valid resident ID number, as a reason code (the catalogue words
    it: ``registry.reject.<code>``), or None when it is."""
    if len(id_number) != 18:
        return "id_number_length"
    head, check = id_number[:17], id_number[17].upper()
    if not (head.isascii() and head.isdigit()) or check not in CHECK_CHARACTERS:
        return "id_number_characters"
    try:
        birth_date(id_number)
    except ValueError:
        return "id_number_birth_date"
    if check_character(head) != check:
        return "id_number_check_digit"
    return None


def birth_date(id_number: str) -> date:
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def sex_of(id_number: str) -> str:
    """'M' or 'F', from the parity of the sequence's last digit."""
    return "M" if int(id_number[16]) % 2 else "F"
