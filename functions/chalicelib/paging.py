"""Lists a page at a time: ``limit``, an opaque ``cursor``, and the way to the next page in the answer.

Every list endpoint reads `page_request` and answers with `paged`: the body gets ``next_cursor``
(null on the last page) and the response a ``Link: <...>; rel="next"`` header with the same
cursor in the list's own URL, so a client follows either.

A cursor is where the previous page ended, sealed (AES-GCM under the keyring's field key, the
same sealing as personal data) with the list's *scope* as associated data: the route, the caller
and every parameter that chooses the list (the home, the grid, the filters). A caller can neither
read a cursor (it may hold ids of items it was not shown yet), nor forge one, nor replay one into
another scope (another home, another caller, another filter): each of those fails to open and is
a 400 ``bad_cursor``. Where to resume is either DynamoDB's ``LastEvaluatedKey`` (lists read in key
order with one query) or the ordering key of the last item shown (keyset paging over lists whose
order is computed, such as a grid's walking order); an item added or removed between two pages
neither shifts nor repeats the others.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import urlencode

from chalice import Response
from chalice.app import Request
from cryptography.exceptions import InvalidTag

from gridgate.refusals import Invalid
from gridgate.security.identifiers import IdentifierProtector
from gridgate.security.keyring import get_keyring

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
#: A sealed cursor is a few hundred characters; anything much longer is not one of ours.
MAX_CURSOR_CHARS = 2048

T = TypeVar("T")


@lru_cache(maxsize=1)
def _protector() -> IdentifierProtector:
    return IdentifierProtector(get_keyring())


def _context(scope: str) -> str:
    return "cursor#" + scope


def seal_cursor(scope: str, position: Any) -> str:
    """`position` (any JSON value) as an opaque text that opens only for `scope`."""
    sealed = _protector().encrypt(json.dumps(position, separators=(",", ":"), sort_keys=True), context=_context(scope))
    return base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")


def open_cursor(scope: str, cursor: str) -> Any:
    """The position sealed in `cursor`; 400 ``bad_cursor`` when it was not made for this list."""
    refused = Invalid("bad_cursor")
    if len(cursor) > MAX_CURSOR_CHARS:
        raise refused
    try:
        sealed = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return json.loads(_protector().decrypt(sealed, context=_context(scope)))
    except (InvalidTag, ValueError, binascii.Error, UnicodeError):
        raise refused from None


@dataclass(frozen=True)
class PageRequest:
    """What the caller asked for: at most `limit` items, resuming at `position` (None: the first page)."""

    scope: str
    limit: int
    position: Any = None

    def keyset(self, items: Sequence[T], key: Callable[[T], list], *, descending: bool = False) -> tuple[list[T], Any]:
        """One page of `items` in the order of `key` (a unique JSON list per item), and the position after it.

        Resumes after the last key shown, not at an offset: an item that appears or goes
        between two requests moves no other item to another page.
        """
        rest = sorted(items, key=lambda item: tuple(key(item)), reverse=descending)
        if self.position is not None:
            after = tuple(self.position)
            rest = [item for item in rest if (tuple(key(item)) < after if descending else tuple(key(item)) > after)]
        shown = rest[: self.limit]
        return shown, (key(shown[-1]) if len(rest) > self.limit else None)


def list_scope(method: str, route: str, path_params: dict, caller: str, filters: dict) -> str:
    """What a cursor is sealed to: a route (its template), its path parameters, the caller and the filters."""
    return json.dumps([method, route, path_params, caller, filters], sort_keys=True, default=str)


def page_request(request: Request, caller: str, **filters: Any) -> PageRequest:
    """``limit`` (1 to `MAX_LIMIT`, default `DEFAULT_LIMIT`) and ``cursor`` of the query string.

    The scope a cursor is sealed to: the route, its path parameters, the caller and `filters`
    (the query parameters, other than limit and cursor, that choose what is listed).
    """
    scope = list_scope(request.method, request.path, request.uri_params or {}, caller, filters)
    params: Mapping[str, str] = request.query_params or {}
    text = params.get("limit")
    limit = DEFAULT_LIMIT
    if text is not None:
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_LIMIT):
            raise Invalid("bad_limit", max=MAX_LIMIT)
        limit = int(text)
    cursor = params.get("cursor")
    position = open_cursor(scope, cursor) if cursor else None
    return PageRequest(scope, limit, position)


def next_link(request: Request, cursor: str) -> str:
    """The ``Link`` header of the next page: the request's own query with ``cursor`` replaced.

    A relative reference of only a query (RFC 3986 §4.2) resolves against the URL the client
    called, so it holds behind any stage prefix or custom domain the gateway adds.
    """
    params = {k: v for k, v in (request.query_params or {}).items() if k != "cursor"}
    return f'<?{urlencode({**params, "cursor": cursor})}>; rel="next"'


def next_page(request: Request, page: PageRequest, position: Any) -> tuple[str | None, dict[str, str]]:
    """The cursor of the page after `position` (None: this was the last) and its ``Link`` header."""
    if position is None:
        return None, {}
    cursor = seal_cursor(page.scope, position)
    return cursor, {"Link": next_link(request, cursor)}


def paged(
    request: Request, page: PageRequest, body: dict, position: Any, headers: dict[str, str] | None = None
) -> Response:
    """`body` with ``next_cursor`` (null on the last page), and the ``Link`` header when there is a next page."""
    cursor, link = next_page(request, page, position)
    return Response(
        body={**body, "next_cursor": cursor},
        status_code=200,
        headers={"Content-Type": "application/json", **(headers or {}), **link},
    )
