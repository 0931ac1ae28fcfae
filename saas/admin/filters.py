"""Reading list filters from the query string: bad values are ignored, never an error."""

from __future__ import annotations

from datetime import date

from saas.services.admin.common import page_number, valid_id

MAX_TEXT = 100


def text(args, name: str, allowed=None) -> str:
    """A short text argument (one of ``allowed`` when given, else "")."""
    value = (args.get(name) or "").strip()[:MAX_TEXT]
    if allowed is not None and value not in allowed:
        return ""
    return value


def day(args, name: str) -> date | None:
    """A YYYY-MM-DD argument, or None."""
    try:
        return date.fromisoformat((args.get(name) or "").strip())
    except ValueError:
        return None


def number(args, name: str, maximum: int = 1000) -> int:
    """A small whole number argument (0 when absent or bad)."""
    raw = (args.get(name) or "").strip()
    return min(int(raw), maximum) if raw.isascii() and raw.isdigit() else 0


def page(args) -> int:
    """The page number."""
    return page_number(args.get("page"))


def object_id(args, name: str) -> int | None:
    """An id argument in range, or None."""
    return valid_id(args.get(name))


def query_without(args, *names: str) -> dict:
    """The arguments minus ``names`` (to build page and sort links)."""
    return {k: v for k, v in args.items() if k not in names}
