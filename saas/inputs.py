"""One converter for everything a visitor types or puts in a URL: ids, page numbers, decimals
and JSON. Every route and form goes through it, so no value can crash a page.

- ids: ASCII digits, 1 to 2**31 - 1 (PostgreSQL's integer); anything else is a 404. The app's
  ``int`` URL converter is replaced by ``IdConverter``, so every ``<int:...>`` route (and any
  added later) gets the check; query-string ids use ``query_id``.
- page numbers: ASCII digits only ("²" and "١" are digits to Python, not to us), bounded.
- decimals: finite (no NaN, sNaN or Infinity), at most MAX_DECIMAL in size; ``DecimalInput``
  is the form field.
- JSON: at most MAX_JSON_BYTES and MAX_JSON_DEPTH levels deep, checked before parsing (a deeply
  nested document would otherwise exhaust Python's recursion limit).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from werkzeug.routing import IntegerConverter, ValidationError
from wtforms import DecimalField, IntegerField

MAX_ID = 2**31 - 1
MAX_ID_DIGITS = len(str(MAX_ID))
MAX_PAGE = 100_000
MAX_DECIMAL = Decimal("1e15")
MAX_DECIMAL_CHARS = 64
MAX_JSON_BYTES = 20_000
MAX_JSON_DEPTH = 20


class InputError(ValueError):
    """A value that cannot be used; the message is for the person who typed it."""


def is_ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more of 0-9 (str.isdigit also accepts "²" and "١")."""
    return bool(text) and text.isascii() and text.isdigit()


def parse_id(value) -> int | None:
    """A database id from text or an int, or None when it cannot be one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= MAX_ID else None
    text = str(value or "").strip()
    if not is_ascii_digits(text) or len(text) > MAX_ID_DIGITS:
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def query_id(args, name: str) -> int | None:
    """The id in query argument ``name``; None when absent or blank; 404 when not an id."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    number = parse_id(raw)
    if number is None:
        from werkzeug.exceptions import NotFound  # noqa: PLC0415

        raise NotFound()
    return number


def page_number(text, default: int = 1, high: int = MAX_PAGE, name: str = "page") -> int:
    """A page number (ASCII digits, 1 to ``high``); the default when blank; InputError else."""
    text = str(text or "").strip()
    if not text:
        return default
    if not is_ascii_digits(text) or len(text) > len(str(high)) or not 1 <= int(text) <= high:
        raise InputError(f"{name} must be a whole number from 1 to {high}, got {text[:20]!r}")
    return int(text)


def parse_decimal(value, *, low: Decimal | None = None, high: Decimal | None = None) -> Decimal:
    """A finite Decimal within [low, high] (and within +-MAX_DECIMAL); InputError otherwise."""
    if isinstance(value, bool):
        raise InputError("Enter a number.")
    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value if value is not None else "").strip()
        if not text or len(text) > MAX_DECIMAL_CHARS:
            raise InputError("Enter a number.")
        try:
            number = Decimal(text)
        except (InvalidOperation, ValueError):
            raise InputError("Enter a number.") from None
    if not number.is_finite():
        raise InputError("Enter an ordinary number (not NaN or Infinity).")
    if number.copy_abs() > MAX_DECIMAL:  # abs() would round, and overflow on 1e999999999
        raise InputError(f"Enter a number no larger than {MAX_DECIMAL:,f}.")
    if low is not None and number < low:
        raise InputError(f"Enter a number of at least {low}.")
    if high is not None and number > high:
        raise InputError(f"Enter a number of at most {high}.")
    return number


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (strings are skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_json(
    text, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH, decimals=True
):
    """A JSON document of bounded size and depth (floats as Decimal); InputError otherwise."""
    if isinstance(text, bytes | bytearray):
        if len(text) > max_bytes:
            raise InputError(f"The JSON is longer than {max_bytes} bytes.")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("The JSON is not UTF-8 text.") from None
    text = str(text or "")
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InputError(f"The JSON is longer than {max_bytes} bytes.")
    if json_depth(text) > max_depth:
        raise InputError(f"The JSON is nested more than {max_depth} levels deep.")
    try:
        return json.loads(text, parse_float=Decimal if decimals else float)
    except json.JSONDecodeError as exc:
        raise InputError(f"{exc.msg} (column {exc.colno}).") from None
    except (RecursionError, ValueError):
        raise InputError("This is not JSON that can be read.") from None


class IdConverter(IntegerConverter):
    """``<int:name>`` in URLs: ASCII digits of a database id; out of range is a 404."""

    regex = r"[0-9]{1,%d}" % MAX_ID_DIGITS  # noqa: UP031 - a regex, not a message

    def to_python(self, value: str) -> int:
        """The id, or no match (a 404) outside 1..MAX_ID."""
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number


class DecimalInput(DecimalField):
    """A form's decimal: finite and bounded, or the field's error (never an exception)."""

    def process_formdata(self, valuelist):
        """Parse the typed text through ``parse_decimal``."""
        if not valuelist:
            return
        try:
            self.data = parse_decimal(valuelist[0])
        except InputError as exc:
            self.data = None
            raise ValueError(str(exc)) from None


class WholeNumberInput(IntegerField):
    """A form's whole number: ASCII digits of at most ten, or the field's error."""

    def process_formdata(self, valuelist):
        """Parse the typed text as ASCII digits."""
        if not valuelist:
            return
        text = str(valuelist[0] or "").strip()
        if not is_ascii_digits(text.removeprefix("-")) or len(text) > MAX_ID_DIGITS + 1:
            self.data = None
            raise ValueError("Enter a whole number.")
        self.data = int(text)


def init_app(app) -> None:
    """Make ``<int:...>`` in every route an id (registered before the blueprints' routes)."""
    app.url_map.converters["int"] = IdConverter
