"""The ladder of an open position: its fills, the average entry, the next add and liquidation.

Prices are estimates from the fills the bot recorded (no exchange call): the liquidation price
is ``clients.paper_engine.liquidation_price`` (margin level 1 of spec section 3.6), the forced
add is where the margin level reaches the strategy's ``critical_margin_level``, and the dip add
is where the return on margin reaches ``dip_add_roe`` (the strategy's add rule, spec 3.2/4b).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clients.paper_engine import liquidation_price
from saas.models import Bot, Trade, TradingPair
from saas.models.scoping import user_id_of
from strategies import StrategyParamError, get_strategy
from strategies.types import LONG

ZERO = Decimal(0)
ONE = Decimal(1)
DEFAULT_MAINT_RATE = Decimal("0.005")  # the paper exchange's default maintenance margin rate
ENTRIES = ("OPEN", "ADD")
MAX_FILLS = 500
QTY_PLACES = Decimal("0.000001")


def margin_level_price(
    side: str, size: Decimal, entry: Decimal, margin: Decimal, mmr: Decimal, level: Decimal
) -> Decimal:
    """The mark price at which (margin + uPnL) / (size x mark x mmr) equals ``level``.

    At level 1 this is exactly ``clients.paper_engine.liquidation_price``.
    """
    if side == LONG:
        return max(ZERO, (entry * size - margin) / (size * (ONE - level * mmr)))
    return (margin + entry * size) / (size * (ONE + level * mmr))


def roe_price(side: str, size: Decimal, entry: Decimal, margin: Decimal, roe: Decimal) -> Decimal:
    """The mark price at which uPnL / margin equals ``roe`` (a fraction, -0.05 = -5 %)."""
    move = roe * margin / size
    return max(ZERO, entry + move if side == LONG else entry - move)


@dataclass(frozen=True)
class Rung:
    """One fill of the position and the position it left."""

    time: datetime
    action: str
    price: Decimal
    qty: Decimal
    size: Decimal
    entry: Decimal


def walk(fills) -> list[Rung]:
    """Rungs of the fills (oldest first): adds move the average entry, reduces keep it."""
    size = entry = ZERO
    rungs = []
    for fill in fills:
        if fill.action in ENTRIES:
            total = size + fill.qty
            entry = (entry * size + fill.price * fill.qty) / total
            size = total
        else:
            size = max(ZERO, size - fill.qty)
        rungs.append(Rung(fill.time, fill.action, fill.price, fill.qty, size, entry))
    return rungs


def implied_maint_rate(last) -> Decimal | None:
    """The maintenance rate the last fill's margin level implies (its price taken as mark)."""
    if not last.margin_level or not last.position_size or not last.price:
        return None
    margin = last.position_value or ZERO
    upnl = (last.pnl_percentage or ZERO) / 100 * margin
    rate = (margin + upnl) / (last.position_size * last.price * last.margin_level)
    return rate if ZERO < rate < ONE else None


@dataclass(frozen=True)
class Ladder:
    """An open position as its fills built it, and the prices that matter next."""

    pair: TradingPair
    rungs: list[Rung]
    size: Decimal
    entry: Decimal
    margin: Decimal
    balance: Decimal | None
    leverage: Decimal
    maint_rate: Decimal
    maint_rate_implied: bool
    reference: Decimal
    liquidation: Decimal
    dip_add: Decimal
    dip_add_qty: Decimal
    dip_roe: Decimal
    forced_add: Decimal
    critical_level: Decimal
    buy_until: Decimal

    def distance(self, price: Decimal) -> Decimal:
        """How far ``price`` is from the last fill's price, in percent."""
        return (price / self.reference - 1) * 100 if self.reference else ZERO

    def reached(self, price: Decimal) -> bool:
        """Whether the last fill's price is already at or beyond ``price`` (against the side)."""
        if self.pair.side == LONG:
            return self.reference <= price
        return self.reference >= price

    @property
    def margin_share(self) -> Decimal | None:
        """The position's margin as a percentage of the balance."""
        return self.margin / self.balance * 100 if self.balance else None

    @property
    def adds_every_run(self) -> bool:
        """Below buy_until_limit of the balance, the strategy adds at every run."""
        share = self.margin_share
        return share is not None and share < self.buy_until * 100


def current_fills(session: Session, user, pair: TradingPair) -> list:
    """The pair's fills since it was last flat, oldest first (the newest MAX_FILLS)."""
    scoped = (
        select(Trade)
        .join(Bot, Bot.id == Trade.bot_id)
        .where(Bot.user_id == user_id_of(user), Trade.pair_id == pair.id)
    )
    flat = session.scalar(
        select(func.max(Trade.time))
        .join(Bot, Bot.id == Trade.bot_id)
        .where(Bot.user_id == user_id_of(user), Trade.pair_id == pair.id, Trade.position_size <= 0)
    )
    if flat is not None:
        scoped = scoped.where(Trade.time > flat)
    rows = session.scalars(scoped.order_by(Trade.time.desc(), Trade.id.desc()).limit(MAX_FILLS))
    return list(reversed(rows.all()))


def _params(pair: TradingPair) -> dict:
    """The pair's strategy parameters over the defaults (the defaults if they no longer fit)."""
    try:
        return get_strategy(pair.strategy, pair.strategy_params).params
    except StrategyParamError:
        return get_strategy("martingale").params


def build_ladder(session: Session, user, pair: TradingPair) -> Ladder | None:
    """The open position's ladder, or None when the pair holds no position."""
    fills = current_fills(session, user, pair)
    if not fills or not fills[-1].position_size or fills[-1].position_size <= 0:
        return None
    rungs = walk(fills)
    last, top = fills[-1], rungs[-1]
    size, entry = top.size, top.entry
    if size <= 0 or entry <= 0:
        return None
    margin = last.position_value or size * entry / pair.leverage
    implied = implied_maint_rate(last)
    mmr = implied or DEFAULT_MAINT_RATE
    params = _params(pair)
    dip = Decimal(params.get("dip_add_roe", Decimal("-0.05")))
    critical = Decimal(params.get("critical_margin_level", Decimal(2)))
    dip_price = roe_price(pair.side, size, entry, margin, dip)
    return Ladder(
        pair=pair,
        rungs=rungs,
        size=size,
        entry=entry,
        margin=margin,
        balance=last.balance_after,
        leverage=pair.leverage,
        maint_rate=mmr,
        maint_rate_implied=implied is not None,
        reference=last.price,
        liquidation=liquidation_price(pair.side, size, entry, margin, mmr),
        dip_add=dip_price,
        # The add rule's size (spec 3.3: margin x leverage x -ROE / price), before rounding.
        dip_add_qty=(margin * pair.leverage * -dip / dip_price).quantize(QTY_PLACES)
        if dip_price
        else ZERO,
        dip_roe=dip,
        forced_add=margin_level_price(pair.side, size, entry, margin, mmr, critical),
        critical_level=critical,
        buy_until=Decimal(params.get("buy_until_limit", Decimal("0.02"))),
    )


def ladder_json(ladder: Ladder | None) -> dict:
    """The ladder for the chart: fills, entry and the marked prices, numbers as floats."""
    if ladder is None:
        return {"open": False, "fills": [], "levels": []}
    roe = format((ladder.dip_roe * 100).normalize(), "f")
    level = format(ladder.critical_level.normalize(), "f")
    levels = [
        ("Average entry", ladder.entry),
        (f"Next add (ROE {roe}%)", ladder.dip_add),
        (f"Forced add (margin level {level})", ladder.forced_add),
        ("Estimated liquidation", ladder.liquidation),
    ]
    return {
        "open": True,
        "side": ladder.pair.side,
        "symbol": ladder.pair.symbol,
        "fills": [
            {
                "time": r.time.isoformat(),
                "action": r.action,
                "price": float(r.price),
                "qty": float(r.qty),
                "size": float(r.size),
                "entry": float(r.entry),
            }
            for r in ladder.rungs
        ],
        "levels": [
            {"label": label, "price": float(price), "distance": float(ladder.distance(price))}
            for label, price in levels
        ],
    }
