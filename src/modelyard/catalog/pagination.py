"""SageMaker's ``NextToken`` for List* calls, as a keyset cursor.

A token holds the sort key and the row id of the last record of a page; the
next page starts strictly after that pair. Unlike an offset, it stays correct
when resources are created or deleted between two pages: nothing is skipped
or repeated that existed the whole time. The token is opaque to clients
(base64 of JSON) and names the sort it was made for, so it cannot be replayed
against another order.
"""

from __future__ import annotations

import base64
import binascii
import json
import operator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from sqlalchemy import ColumnElement, Select, and_, or_

from modelyard.catalog.base import SortBy, SortOrder
from modelyard.catalog.models import Resource
from modelyard.errors import ValidationError

SORT_BY: tuple[str, ...] = get_args(SortBy)
SORT_ORDER: tuple[str, ...] = get_args(SortOrder)
MAX_RESULTS_LIMIT = 100


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: its last record's sort key and row id."""

    sort_by: str
    sort_order: str
    key: str | datetime
    row_id: int

    def encode(self) -> str:
        key = self.key.isoformat() if isinstance(self.key, datetime) else self.key
        body = {"s": self.sort_by, "o": self.sort_order, "k": key, "i": self.row_id}
        raw = json.dumps(body, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, *, sort_by: str, sort_order: str) -> Cursor:
    """The cursor in ``token``; ``ValidationError`` (400) if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body: Any = json.loads(raw)
        key, row_id = body["k"], body["i"]
        if not isinstance(key, str) or not isinstance(row_id, int):
            raise TypeError("malformed cursor")
        made_for = (body["s"], body["o"])
        parsed: str | datetime = (
            datetime.fromisoformat(key) if made_for[0] == "CreationTime" else key
        )
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        raise ValidationError(
            "NextToken is not a token returned by a previous List call", field="NextToken"
        ) from exc
    if made_for != (sort_by, sort_order):
        raise ValidationError(
            f"NextToken was returned for SortBy={made_for[0]}, SortOrder={made_for[1]}: "
            "pass the same sort to get the next page",
            field="NextToken",
        )
    return Cursor(sort_by=sort_by, sort_order=sort_order, key=parsed, row_id=row_id)


def check_list_arguments(sort_by: str, sort_order: str, max_results: int) -> None:
    """Refuse (400) what SageMaker's List* calls refuse, naming the field."""
    if sort_by not in SORT_BY:
        raise ValidationError(
            f"SortBy={sort_by!r} is not supported: use one of {', '.join(SORT_BY)}",
            field="SortBy",
        )
    if sort_order not in SORT_ORDER:
        raise ValidationError(
            f"SortOrder={sort_order!r} is not supported: use one of {', '.join(SORT_ORDER)}",
            field="SortOrder",
        )
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise ValidationError("MaxResults must be an integer", field="MaxResults")
    if not 1 <= max_results <= MAX_RESULTS_LIMIT:
        raise ValidationError(
            f"MaxResults={max_results} is out of range: use 1 to {MAX_RESULTS_LIMIT}",
            field="MaxResults",
        )


def sort_column(sort_by: str, dialect: str) -> ColumnElement[Any]:
    """The column ``SortBy`` names; text compares byte-wise on every backend."""
    if sort_by == "CreationTime":
        return Resource.created_at.expression
    column = Resource.name if sort_by == "Name" else Resource.status
    # SQLite compares bytes by default; PostgreSQL may follow a locale ("a-b" vs "ab").
    return column.collate("C") if dialect == "postgresql" else column.expression


def paginate(
    query: Select[Resource],
    *,
    sort_by: str,
    sort_order: str,
    max_results: int,
    next_token: str | None,
    dialect: str,
) -> Select[Resource]:
    """``query`` ordered, started after ``next_token``, one row more than a page.

    The extra row tells whether another page follows (see :func:`split_page`).
    """
    column = sort_column(sort_by, dialect)
    descending = sort_order == "Descending"
    if next_token:
        cursor = decode_cursor(next_token, sort_by=sort_by, sort_order=sort_order)
        after = operator.lt if descending else operator.gt
        query = query.where(
            or_(
                after(column, cursor.key),
                and_(column == cursor.key, after(Resource.id, cursor.row_id)),
            )
        )
    if descending:
        query = query.order_by(column.desc(), Resource.id.desc())
    else:
        query = query.order_by(column.asc(), Resource.id.asc())
    return query.limit(max_results + 1)


def split_page(
    rows: list[Resource], *, sort_by: str, sort_order: str, max_results: int
) -> tuple[list[Resource], str | None]:
    """The page's rows and the token of the next page (``None`` on the last one)."""
    if len(rows) <= max_results:
        return rows, None
    rows = rows[:max_results]
    last = rows[-1]
    key: str | datetime = last.created_at
    if sort_by == "Name":
        key = last.name
    elif sort_by == "Status":
        key = last.status
    return rows, Cursor(sort_by, sort_order, key, last.id).encode()
