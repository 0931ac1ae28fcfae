"""What the admin services share: pages of results, id checks and before/after snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

MAX_ID = 2**31 - 1  # PostgreSQL's integer: a larger id can name nothing (and must not crash)
DEFAULT_PER_PAGE = 50
MAX_PAGE = 100_000
COUNT_CAP = 500
MAX_OFFSET = 10_000


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, the page number and size, and how many there are.

    Counting stops at COUNT_CAP (``capped``): an exact count of 200,000 filtered rows costs more
    than the page itself, and nobody pages through more than a filter would show.
    """

    items: list
    page: int
    per_page: int
    total: int
    more: bool = False
    capped: bool = False

    @property
    def pages(self) -> int:
        """How many pages the count covers (at least one)."""
        return max(1, ceil(self.total / self.per_page))


def valid_id(raw) -> int | None:
    """An id within the database's range, or None."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if 0 < value <= MAX_ID else None


def page_number(raw) -> int:
    """A page number from the query string (1 when absent or nonsense)."""
    text = str(raw or "")
    if not (text.isascii() and text.isdigit()):
        return 1
    return min(max(1, int(text)), MAX_PAGE)


def paginate(session: Session, query: Select, count_query: Select | None, page: int, per_page: int):
    """The page's rows of ``query``, the count of ``count_query`` (up to COUNT_CAP + 1; without
    one, the rows so far) and whether another page follows. Pages stop MAX_OFFSET rows in."""
    page = min(page, MAX_OFFSET // per_page + 1)
    rows = session.execute(query.limit(per_page + 1).offset((page - 1) * per_page)).all()
    more = len(rows) > per_page and page * per_page < MAX_OFFSET + per_page
    rows = rows[:per_page]
    if (page == 1 and len(rows) < per_page) or count_query is None:
        return rows, (page - 1) * per_page + len(rows), more, page
    capped = count_query.limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped)) or 0
    return rows, total, more, page


def page_of(items: list, page: int, per_page: int, total: int, more: bool) -> Page:
    """A Page, its count marked capped when it reached the cap."""
    return Page(items, page, per_page, min(total, COUNT_CAP), more, total > COUNT_CAP)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards escaped (escape char \\)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def email_matches(column, text: str):
    """Addresses starting with ``text`` (an index range scan on PostgreSQL), or, for "@domain",
    containing it (a scan: slower on 100,000 users, still well under a second)."""
    text = text.strip().lower()
    if text.startswith("@"):
        return column.like(like_pattern(text), escape="\\")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"{escaped}%", escape="\\")
