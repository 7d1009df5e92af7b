"""Message catalogues: every text a person reads, in Simplified Chinese (default) and English.

Why catalogues and not strings in code: the users are Nanjing residents, grid workers and
data-center staff, who read Chinese first; a text that lives in a gettext catalogue
(``locales/<locale>/LC_MESSAGES/gridgate.po``) can be reviewed and corrected by a translator
without touching code, and a test (``tests/foundation/test_i18n.py``) checks that both
catalogues carry the same keys and that none is left empty.

Message ids are stable keys (``page.grid.title``), not English sentences, so that the page
scripts can look them up too (the pages embed the ``page.*``/``error.*``/``finding.*`` part of
the catalogue as JSON). Texts use ``{name}`` placeholders (``str.format``).

The .po files are read at run time with Babel (pure Python, no compile step), once per process.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LOCALE = "zh_CN"
LOCALES = ("zh_CN", "en")
#: The value of ``<html lang>`` for each locale (BCP 47).
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


class MissingMessage(KeyError):
    """A key with no text in a catalogue: a programming error, shown loudly in tests."""


@cache
def catalogue(locale: str) -> dict[str, str]:
    """The key -> text map of one locale (``MissingMessage`` for an unknown locale)."""
    if locale not in LOCALES:
        raise MissingMessage(locale)
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "gridgate.po").open("rb") as handle:
        parsed = read_po(handle, locale=locale)
    return {str(message.id): str(message.string) for message in parsed if message.id}


def normalise(locale: str | None) -> str:
    """A supported locale for a tag such as ``zh-CN``, ``zh_Hans``, ``en-US``; default Chinese."""
    tag = (locale or "").strip().replace("-", "_").lower()
    if tag.startswith("en"):
        return "en"
    return DEFAULT_LOCALE


def negotiate(lang_param: str | None, accept_language: str | None) -> str:
    """The page's locale: an explicit ``?lang=`` wins; else the first supported language of the
    browser's ``Accept-Language`` (by q-value); else Simplified Chinese."""
    if lang_param:
        return normalise(lang_param)
    choices = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            choices.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(choices):
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


class Translator:
    """``t("key", name=...)`` for one locale; a key missing from the catalogue raises."""

    def __init__(self, locale: str | None = None) -> None:
        self.locale = normalise(locale) if locale not in LOCALES else locale
        self.messages = catalogue(self.locale)

    def __call__(self, key: str, /, **values: object) -> str:
        try:
            text = self.messages[key]
        except KeyError:
            raise MissingMessage(f"{key} ({self.locale})") from None
        return text.format(**values) if values else text

    def get(self, key: str, default: str, /, **values: object) -> str:
        """Like calling, but ``default`` for an unknown key (e.g. a finding type added later)."""
        return self(key, **values) if key in self.messages else default

    def subset(self, prefixes: Iterable[str]) -> dict[str, str]:
        """The messages whose keys start with one of ``prefixes`` (what a page script needs)."""
        prefixes = tuple(prefixes)
        return {key: text for key, text in self.messages.items() if key.startswith(prefixes)}

    @property
    def html_lang(self) -> str:
        return HTML_LANG[self.locale]

    def home_address(self, estate: str, building: str, unit: str, floor: object, room: str) -> str:
        """A home as people write it (梅园新村 / B-01栋 / 2单元 3层 0302室): one wording for the
        task sheet and every page that names where someone lives."""
        return self("sheet.place", estate=estate, building=building, unit=unit, floor=floor, room=room)

    def local_time(self, at: datetime) -> str:
        """An instant as the city's wall-clock time, labelled (``2026-12-01 08:30（北京时间）``)."""
        from gridgate.clock import city_clock

        return self("time.local", time=city_clock().local_time(at).strftime("%Y-%m-%d %H:%M"))


def refusal_text(refusal: object, locale: str | None = None) -> str:
    """The words of a refusal (any exception with a ``code`` and ``detail`` members: the
    `gridgate.refusals` family, a token's, a face's, a gate's) in `locale`: the catalogue's
    ``error.<code>.<reason>`` when its ``reason`` member names one, else ``error.<code>``, filled
    with the members. Code never words a refusal itself; a code with no text gets the catalogue's
    ``error.other`` (the i18n tests fail on such a code before it ships)."""
    t = translator(locale)
    code = str(getattr(refusal, "code", "") or "internal_error")
    detail = dict(getattr(refusal, "detail", None) or {})
    values = {key: _listed(value) for key, value in detail.items()}
    for key in (f"error.{code}.{detail.get('reason')}", f"error.{code}"):
        # a text whose members this refusal does not carry (a gate's decision carries none) is
        # passed over for the plainer one
        if key in t.messages and placeholders(t.messages[key]) <= values.keys():
            return t(key, **values)
    return t("error.other", code=code)


def placeholders(text: str) -> set[str]:
    """The ``{name}`` members a catalogue text is filled with."""
    return set(re.findall(r"\{(\w+)\}", text))


def _listed(value: object) -> object:
    """A list member as text for a sentence (``a, b``); anything else as it is."""
    if isinstance(value, (list, tuple, frozenset, set)):
        return ", ".join(map(str, value)) or "-"
    return value


def translator(locale: str | None = None) -> Translator:
    """The translator of ``locale`` (default: ``GRIDGATE_LOCALE`` or Simplified Chinese)."""
    if locale is None:
        import os

        locale = os.environ.get("GRIDGATE_LOCALE", DEFAULT_LOCALE)
    return Translator(locale)


#: One CSS font stack for every page, sheet and report: the platforms' Latin UI fonts first (not
#: ``system-ui``, which headless Linux resolves to a serif face), then the
#: common Simplified-Chinese fonts of iOS/macOS, Windows, Android/Linux (Noto/Source Han, WenQuanYi),
#: so that people's names never fall back to a font without CJK glyphs (rendered as boxes, "tofu").
FONT_STACK = (
    '-apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "DejaVu Sans", '
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", '
    '"Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", sans-serif'
)

#: The catalogue sections a page script needs (the rest stays on the server).
PAGE_MESSAGE_PREFIXES = (
    "common.",
    "page.",
    "error.",
    "finding.",
    "result.",
    "status.",
    "role.",
    "group.",
    "severity.",
    "kind.",
    "metric.",
    "time.",
)
