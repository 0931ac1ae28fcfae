"""What the admin services share: pages of results, id checks and before/after snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

MAX_ID = 2**31 - 1  # PostgreSQL's integer: a larger id can name nothing (and must not crash)
DEFAULT_PER_PAGE = 50
MAX_PAGE = 100_000


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, the page number, the size and the total count."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the list has (at least one)."""
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


def paginate(session: Session, query: Select, count_query: Select, page: int, per_page: int):
    """The page's rows of ``query`` and the total of ``count_query``."""
    total = session.scalar(select(func.count()).select_from(count_query.subquery())) or 0
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards escaped (escape char \\)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
