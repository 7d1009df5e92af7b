"""Fixtures of the face area: real photos (each encoded at most once per session) and a tiny city.

Photos are read from ../shared/testdata through the `testdata` fixture (skips when absent).
"""

from __future__ import annotations

import pytest

from .helpers import FaceCity


@pytest.fixture(scope="session")
def photo(testdata):
    """`photo("faces/obama/obama.jpg")` -> the file's bytes."""

    def read(relative: str) -> bytes:
        return (testdata / relative).read_bytes()

    return read


@pytest.fixture(scope="session")
def probe_of(photo):
    """`probe_of(relative_path)` -> the gate pipeline's ProbeFace, computed once per session."""
    from gridgate.faces.pipeline import probe_face

    cache: dict[str, object] = {}

    def probe(relative: str):
        if relative not in cache:
            cache[relative] = probe_face(photo(relative))
        return cache[relative]

    return probe


@pytest.fixture
def face_city(moto_server) -> FaceCity:
    return FaceCity()
