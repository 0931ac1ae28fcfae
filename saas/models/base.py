"""The declarative base and the column types every model shares (UTC times, money, JSON)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import JSON, DateTime, MetaData, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Deterministic constraint and index names, so schema.sql is stable and errors name the rule.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
MONEY_SCALE = Decimal("1E-10")

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Base of every model; Flask-SQLAlchemy is bound to it, so models work without Flask too."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utc_now() -> datetime:
    """Default for created/updated columns (services pass ``now`` where time matters)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware timestamp that always comes back in UTC, on PostgreSQL and SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        """Refuse naive datetimes; SQLite keeps naive UTC text, PostgreSQL a timestamptz."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; use UTC-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        """Attach UTC to SQLite's naive values; convert PostgreSQL's session zone to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator):
    """Numeric(28, 10) as Decimal; rounded to 10 places on the way in so both databases agree.

    SQLite has no decimal type: it keeps 15 significant digits (as Django does there), which is
    exact for prices, quantities and balances of ordinary size. PostgreSQL keeps all 28.
    """

    impl = Numeric(28, 10)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        """SQLite gets floats back and we make the Decimal ourselves (no lossy-float warning)."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(28, 10, asdecimal=False))
        return dialect.type_descriptor(Numeric(28, 10))

    def process_bind_param(self, value, dialect):
        """Decimals (or ints / numeric strings) rounded half-up to 10 places, like PostgreSQL."""
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be a Decimal, not a float")
        quantized = Decimal(value).quantize(MONEY_SCALE, rounding=ROUND_HALF_UP)
        return str(quantized) if dialect.name == "sqlite" else quantized

    def process_result_value(self, value, dialect):
        """Always a Decimal, without float noise and without trailing zeros."""
        if value is None:
            return None
        if isinstance(value, float):
            value = Decimal(repr(value))
        value = Decimal(value).quantize(MONEY_SCALE, rounding=ROUND_HALF_UP)
        return value.normalize() if value != value.to_integral_value() else value.quantize(1)


def in_values(column: str, values: tuple[str, ...]) -> str:
    """SQL text of a CHECK that ``column`` is one of ``values``."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _server_default(column):
    """The SQL default matching a column's Python default, or None when there is no such thing."""
    from sqlalchemy import false, text, true  # noqa: PLC0415

    default = column.default
    if default is None:
        # When a row was made: the moment it is written, also for rows the code dates itself.
        return text("CURRENT_TIMESTAMP") if column.name == "created_at" else None
    if default.is_scalar:
        value = default.arg
        if isinstance(value, bool):
            return true() if value else false()
        if isinstance(value, int | Decimal):
            return text(str(value))
        if isinstance(value, str):
            return text("'" + value.replace("'", "''") + "'")
        return None
    if default.is_callable:
        name = getattr(default.arg, "__name__", "")
        return {
            "utc_now": text("CURRENT_TIMESTAMP"),
            "dict": text("'{}'"),
            "list": text("'[]'"),
        }.get(name)
    return None


def apply_server_defaults(metadata: MetaData) -> None:
    """Give every NOT NULL column with a Python default the same default in the database.

    Rows written by hand (the quick start's INSERTs, psql, other tools) then need only their
    natural columns (an e-mail, a bot's name and exchange, a pair's symbol and side).
    """
    for table in metadata.tables.values():
        for column in table.columns:
            if column.nullable or column.primary_key or column.server_default is not None:
                continue
            server_default = _server_default(column)
            if server_default is not None:
                from sqlalchemy import DefaultClause  # noqa: PLC0415

                column.server_default = DefaultClause(server_default)
                column.server_default._set_parent(column)
