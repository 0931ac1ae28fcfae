"""What a bot trades and what it did: trading pairs, orders (intent and outcome) and trades."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.models.base import Base, JSONType, Money, UTCDateTime, in_values, utc_now
from saas.models.bots import OwnedThroughBot

SIDES = ("Long", "Short")
ORDER_SIDES = ("Buy", "Sell")
ACTIONS = ("OPEN", "ADD", "REDUCE", "CLOSE")
# The journal's statuses (workflows.journal): DESIGN.md's four plus open and cancelled.
ORDER_STATUSES = ("pending", "open", "filled", "cancelled", "rejected", "unknown")
EMA_INTERVALS = (1, 5, 15, 30, 60, 240, 1440, 10080, 43200, 129600, 518400)
MAX_LEVERAGE = 125
MARGIN_MODES = ("cross", "isolated")
CLIENT_ORDER_ID_LENGTH = 36


class TradingPair(OwnedThroughBot, Base):
    """One (symbol, side) a bot trades, with its leverage, candle interval and strategy."""

    __tablename__ = "trading_pairs"
    __table_args__ = (
        UniqueConstraint("bot_id", "symbol", "side"),
        CheckConstraint(in_values("side", SIDES), name="side"),
        CheckConstraint(f"leverage > 0 AND leverage <= {MAX_LEVERAGE}", name="leverage"),
        CheckConstraint(
            f"ema_interval IN ({', '.join(map(str, EMA_INTERVALS))})", name="ema_interval"
        ),
        CheckConstraint("symbol <> ''", name="symbol"),
        CheckConstraint(in_values("margin_mode", MARGIN_MODES), name="margin_mode"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    leverage: Mapped[Decimal] = mapped_column(Money, default=Decimal(10))
    ema_interval: Mapped[int] = mapped_column(default=1)
    automatic_mode: Mapped[bool] = mapped_column(default=True)
    strategy: Mapped[str] = mapped_column(String(32), default="martingale")
    strategy_params: Mapped[dict] = mapped_column(JSONType, default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Alert keys reported by the pair's last run, so refusals are told once per condition.
    alert_keys: Mapped[list] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)
    # Last, as ALTER TABLE adds them (revision 0003_margin_modes).
    # The mode the owner means: what paper trading simulates and what the exchange should have.
    margin_mode: Mapped[str] = mapped_column(String(8), default="cross", server_default="cross")
    # The mode the exchange reported for the pair's position at the last run (None: not seen).
    exchange_margin_mode: Mapped[str | None] = mapped_column(String(8), default=None)

    bot = relationship("Bot", back_populates="pairs")

    def __repr__(self) -> str:
        return f"<TradingPair {self.id} {self.symbol} {self.side}>"


class Order(OwnedThroughBot, Base):
    """An order: written as pending before it is sent, then updated with what the exchange said."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(in_values("side", SIDES), name="side"),
        CheckConstraint(in_values("order_side", ORDER_SIDES), name="order_side"),
        CheckConstraint(in_values("action", ACTIONS), name="action"),
        CheckConstraint(in_values("status", ORDER_STATUSES), name="status"),
        CheckConstraint("qty > 0", name="qty"),
        CheckConstraint("price IS NULL OR price > 0", name="price"),
        CheckConstraint("filled_qty >= 0", name="filled_qty"),
        Index(None, "bot_id", "status"),
        Index(None, "pair_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    # History outlives a deleted pair; symbol and side are kept on the row for that reason.
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("trading_pairs.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("bot_runs.id", ondelete="SET NULL"))
    client_order_id: Mapped[str] = mapped_column(String(CLIENT_ORDER_ID_LENGTH), unique=True)
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(8))
    order_side: Mapped[str] = mapped_column(String(4))
    qty: Mapped[Decimal] = mapped_column(Money)
    price: Mapped[Decimal | None] = mapped_column(Money)
    reduce_only: Mapped[bool] = mapped_column(default=False)
    post_only: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    exchange_order_id: Mapped[str] = mapped_column(String(64), default="")
    filled_qty: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    avg_price: Mapped[Decimal | None] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    ref_entry_price: Mapped[Decimal | None] = mapped_column(Money)
    ref_margin: Mapped[Decimal | None] = mapped_column(Money)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Order {self.client_order_id} {self.action} {self.status}>"


class Trade(OwnedThroughBot, Base):
    """A fill, written once per client order id."""

    __tablename__ = "trades"
    __table_args__ = (
        CheckConstraint(in_values("side", SIDES), name="side"),
        CheckConstraint(in_values("action", ACTIONS), name="action"),
        CheckConstraint("qty > 0", name="qty"),
        CheckConstraint("price > 0", name="price"),
        Index(None, "bot_id", "time"),
        Index(None, "pair_id", "time"),
        # The admin system page counts today's, this week's and this month's trades.
        Index(None, "time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("trading_pairs.id", ondelete="SET NULL"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    client_order_id: Mapped[str] = mapped_column(String(CLIENT_ORDER_ID_LENGTH), unique=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(8))
    qty: Mapped[Decimal] = mapped_column(Money)
    price: Mapped[Decimal] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    pnl: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    pnl_percentage: Mapped[Decimal | None] = mapped_column(Money)
    position_size: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    position_value: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    margin_level: Mapped[Decimal | None] = mapped_column(Money)
    balance_after: Mapped[Decimal | None] = mapped_column(Money)

    def __repr__(self) -> str:
        return f"<Trade {self.client_order_id} {self.action} {self.qty}@{self.price}>"
