"""Resident ID numbers (GB 11643): the check character and the structural checks."""

from __future__ import annotations

import pytest

from gridgate.domain.id_numbers import (
    birth_date,
    check_character,
    id_number_problem,
    sex_of,
)


def test_the_standard_example():
    # the worked example of GB 11643-1999
    assert check_character("11010519491231002") == "X"
    assert id_number_problem("11010519491231002X") is None
    assert birth_date("11010519491231002X").isoformat() == "1949-12-31"
    assert sex_of("11010519491231002X") == "F"


@pytest.mark.parametrize(
    "number, problem",
    [
        ("11010519491231002", "id_number_length"),
        ("110105194912310021", "id_number_check_digit"),
        ("11010519491331002X", "id_number_birth_date"),
        ("1101051949123100AX", "id_number_characters"),
        ("11010519491231002Y", "id_number_characters"),
    ],
)
def test_bad_numbers_say_why(number, problem):
    assert id_number_problem(number) == problem
