"""The message catalogues: both languages carry every key, none empty, placeholders agree, and
the pages, sheets and report take their words from them (Chinese by default)."""

from __future__ import annotations

import re
from datetime import UTC

import pytest

from gridgate import i18n


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def test_both_catalogues_have_the_same_keys_and_no_empty_text():
    chinese, english = i18n.catalogue("zh_CN"), i18n.catalogue("en")
    assert chinese.keys() == english.keys()
    assert not [key for key, text in {**chinese, **english}.items() if not text.strip()]


@pytest.mark.parametrize("key", sorted(i18n.catalogue("zh_CN")))
def test_placeholders_are_the_same_in_both_languages(key):
    assert _placeholders(i18n.catalogue("zh_CN")[key]) == _placeholders(i18n.catalogue("en")[key])


def test_chinese_is_the_default_and_english_is_chosen_by_request():
    assert i18n.translator().locale == "zh_CN"
    assert i18n.negotiate(None, None) == "zh_CN"
    assert i18n.negotiate(None, "en-GB,en;q=0.9,zh-CN;q=0.8") == "en"
    assert i18n.negotiate(None, "fr-FR, zh-TW;q=0.7, en;q=0.5") == "zh_CN"
    assert i18n.negotiate("en", "zh-CN") == "en"


def test_a_missing_key_fails_loudly():
    with pytest.raises(i18n.MissingMessage):
        i18n.translator("en")("no.such.key")


def test_local_times_are_labelled_as_beijing_time():
    from datetime import datetime

    at = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Nanjing
    assert i18n.translator("zh_CN").local_time(at) == "2026-12-01 00:30（北京时间）"
    assert i18n.translator("en").local_time(at) == "2026-12-01 00:30 (Beijing time, UTC+8)"
