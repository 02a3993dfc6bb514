"""Pagination of every list: ``limit`` (1..200, 50 by default) and an opaque ``cursor`` (keyset on a
stable order), the total count of the filtered list, and the next page's URL in the body and in a
``Link: <...>; rel="next"`` header. Every list route answers a ``Page[T]`` through ``Pager``.

The common filters live here too: ``q`` (text search on names and references) and a date range
(``since``/``until``, ISO dates, inclusive) on the list's own date."""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field

from certification.errors import ValidationFailed

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    """One page of a list: its items, the total of the (filtered) list, the URL of the next page."""

    items: list[T]
    total: int = Field(ge=0, description="Nombre total d'éléments de la liste filtrée (toutes pages)")
    next: str | None = Field(description="URL de la page suivante (null sur la dernière page)")


def _encode(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        key = None
    if not isinstance(key, list) or not key or not all(isinstance(k, (int, str)) for k in key):
        raise ValidationFailed(
            "Curseur de pagination invalide : reprenez le lien « next » d'une page.", code="invalid_cursor"
        )
    return tuple(key)


def _folded(text: str) -> str:
    """Lower case without accents: « Élodie » matches « elodie »."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def _as_date(value: Any) -> date | None:
    return value.date() if isinstance(value, datetime) else value


class Pager:
    """Request dependency of every list route: ``pager: Pager = Depends()``."""

    def __init__(
        self,
        request: Request,
        response: Response,
        limit: int = Query(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Taille de la page (1 à 200)"),
        cursor: str | None = Query(
            default=None,
            min_length=1,
            max_length=200,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="Curseur opaque : reprendre l'URL « next » de la page précédente",
        ),
        q: str | None = Query(
            default=None,
            min_length=1,
            max_length=100,
            description="Recherche dans les noms et références (sans casse ni accents)",
        ),
    ):
        self.request, self.response, self.limit, self.cursor, self.q = request, response, limit, cursor, q

    def page(
        self,
        items: Iterable[Any],
        render: Callable[[Any], T],
        *,
        key: Callable[[Any], Sequence[Any]] = lambda row: (row.id,),
        text: Callable[[Any], Iterable[str | None]] | None = None,
        where: Callable[[Any], bool] | None = None,
    ) -> Page[T]:
        """``items`` filtered (``text``: the strings ``q`` is searched in; ``where``: the route's own
        filters), ordered by ``key`` (unique, stable), cut after the cursor; only the page is rendered."""
        rows = [row for row in items if where is None or where(row)]
        if self.q and text is not None:
            needle = _folded(self.q.strip())
            rows = [row for row in rows if any(needle in _folded(s) for s in text(row) if s)]
        rows.sort(key=lambda row: tuple(key(row)))
        total = len(rows)
        if self.cursor:
            after = _decode(self.cursor)
            try:
                rows = [row for row in rows if tuple(key(row)) > after]
            except TypeError:
                raise ValidationFailed(
                    "Curseur de pagination invalide : reprenez le lien « next » d'une page.", code="invalid_cursor"
                ) from None
        shown = rows[: self.limit]
        next_url = None
        if len(rows) > self.limit:
            url = self.request.url.include_query_params(cursor=_encode(key(shown[-1])), limit=self.limit)
            next_url = url.path + "?" + url.query
            self.response.headers["Link"] = f'<{next_url}>; rel="next"'
        return Page[Any](items=[render(row) for row in shown], total=total, next=next_url)


def in_range(value: date | datetime | None, since: date | None, until: date | None) -> bool:
    """``value`` (a date, or a timestamp's date) within ``[since, until]``; an open bound matches all."""
    if since is None and until is None:
        return True
    day = _as_date(value)
    return day is not None and (since is None or day >= since) and (until is None or day <= until)


def since_query(what: str) -> Any:
    return Query(default=None, description=f"{what} à partir de cette date (AAAA-MM-JJ, incluse)")


def until_query(what: str) -> Any:
    return Query(default=None, description=f"{what} jusqu'à cette date (AAAA-MM-JJ, incluse)")


def certification_ids(db: Any, code: str | None) -> set[int]:
    """Ids of the certifications a ``certification_code`` filter keeps (all when no code is given)."""
    from sqlmodel import select

    from certification.models import Certification

    return {c.id for c in db.exec(select(Certification)) if code in (None, c.code)}
