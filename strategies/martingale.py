"""The existing bot's Martingale / DCA rules (spec section 3) as one pure decide()."""

from __future__ import annotations

from decimal import Decimal

from strategies import rounding
from strategies.base import Strategy
from strategies.indicators import CRASH, FAST_DECLINE, MODERATE_DECLINE, SLOW_DECLINE
from strategies.martingale_params import DESCENDING, MARKET, PARAMS
from strategies.martingale_sizing import (
    ZERO,
    close_qty,
    exit_qty,
    margin_cap,
    margin_usage,
    round_entry_qty,
    taper,
)
from strategies.types import (
    LONG,
    Action,
    ActionKind,
    Alert,
    Decision,
    Position,
    Snapshot,
    Volatility,
    entry_side,
    exit_side,
)

SAFE_DECLINES = frozenset({SLOW_DECLINE, MODERATE_DECLINE})
DANGEROUS_DECLINES = frozenset({FAST_DECLINE, CRASH})
HUNDRED = Decimal(100)

MARGIN_WARNING = "margin_warning"
HIGH_VOLATILITY = "high_volatility"
DANGEROUS_DECLINE = "dangerous_decline"
ORDER_SKIPPED = "order_skipped"
SKIP_MAX_MARGIN = "order_skipped:max_margin"
SKIP_BELOW_MINIMUM = "order_skipped:below_minimum"
NOTHING_CHANGED = "Nothing changed"


def _plain(number: Decimal) -> str:
    """A Decimal without exponent or trailing zeros, for messages ("2.00" -> "2")."""
    return format(number.normalize(), "f")


def _like_price(value: float, price: Decimal) -> str:
    """An indicator value with the decimals of the price it is compared with (at least 2)."""
    places = -price.as_tuple().exponent
    return f"{value:.{min(max(places, 2), 12)}f}"


def _waiting(long: bool, price: Decimal, ema: float) -> str:
    """Why no position is opened yet: price on the wrong side of the 1h EMA100."""
    fprice = float(price)
    where = ("above" if long else "below") if fprice != ema else "at"
    wait = "Waiting for dip" if long else "Waiting for rise"
    return f"{wait}: price {price} {where} 1h EMA100 {_like_price(ema, price)}"


def _gate_skip(side: str, long: bool, price: Decimal, ema200: float, ml) -> str:
    """Why a position is left alone: wrong side of EMA200 with a healthy margin level (step 3)."""
    where = ("below" if long else "above") if float(price) != ema200 else "at"
    level = "unknown" if ml is None else ml
    return f"Skipped: {side} {where} EMA200 {_like_price(ema200, price)} with margin level {level}"


def _reading(vol: Volatility) -> str:
    """The volatility trigger in words, e.g. "bb_width 9.1 > 8"."""
    return f"{vol.trigger} {vol.value:.6g} > {vol.threshold:.6g}"


class MartingaleStrategy(Strategy):
    """Counter-trend entries on the 1h EMA100, adds by drawdown and margin, tiered profit taking."""

    name = "martingale"
    PARAMS = PARAMS

    def __init__(self, params: dict | None = None):
        super().__init__(params)
        p = self.params
        # Everything decide() needs is a ready Decimal or bool: it runs ~100k times per backtest.
        self._buy_until = p["buy_until_limit"]
        self._safe_limit = p["buy_until_limit"] * p["safe_decline_multiplier"]
        self._profit_threshold = p["profit_threshold"]
        self._profit_pnl = p["profit_pnl"]
        self._begin = p["begin_size_of_balance"]
        self._max_margin = p["max_margin_pct"]
        self._taper_start = p["taper_start"]
        self._dip_roe = p["dip_add_roe"]
        self._warn_ml = p["margin_warning_level"]
        self._crit_ml = p["critical_margin_level"]
        tiers = [
            (p["reduce_pct_tier1"], p["reduce_fraction_tier1"]),
            (p["reduce_pct_tier2"], p["reduce_fraction_tier2"]),
        ]
        if p["profit_tier_order"] == DESCENDING:
            tiers.sort(key=lambda tier: tier[0], reverse=True)
        self._tiers = tuple(
            (pct, fraction, _plain(fraction * HUNDRED), _plain(pct)) for pct, fraction in tiers
        )
        self._safe_add = p["safe_decline_add"]
        self._min_one_step = p["min_one_step"]
        self._split_cap = p["split_cap_per_symbol"]
        self._round = p["round_position_values"]
        self._post_only = p["use_postonly"]
        self._market_exit = p["exit_order_type"] == MARKET
        self._texts = {
            "crit": _plain(self._crit_ml),
            "buy_until": _plain(self._buy_until * HUNDRED),
            "safe_limit": _plain(self._safe_limit * HUNDRED),
            "dip_roe": _plain(self._dip_roe),
            "profit_pnl": _plain(self._profit_pnl),
        }

    def decide(self, snapshot: Snapshot) -> Decision:
        """Spec section 3: gate, volatility flags, then the first matching branch."""
        long = snapshot.side == LONG
        price = snapshot.bid if long else snapshot.ask
        if snapshot.balance <= 0 or price <= 0 or snapshot.leverage <= 0:
            return Decision(conclusion=self._unusable(snapshot, price))
        position = snapshot.position
        if position is None or position.size <= 0:
            return self._without_position(snapshot, long, price)
        ind = snapshot.indicators
        ml = position.margin_level
        critical = ml is not None and ml < self._crit_ml
        fprice = float(price)
        # Step 3 gate: a position on the wrong side of EMA200 is left alone unless margin is low.
        if not (critical or (fprice > ind.ema200 if long else fprice < ind.ema200)):
            return Decision(explain=(_gate_skip, snapshot.side, long, price, ind.ema200, ml))
        return self._with_position(snapshot, position, long, price, critical)

    # -- no position (spec 4c) -------------------------------------------------------------

    def _without_position(self, snap: Snapshot, long: bool, price: Decimal) -> Decision:
        """Open on a dip below the 1h EMA100 (a rip above it for Short) in calm markets."""
        if not snap.auto:
            return Decision(conclusion="No position; automatic mode is off, not opening")
        vol = snap.indicators.volatility
        if vol.decline_type in DANGEROUS_DECLINES:
            return Decision(conclusion=f"Dangerous decline ({vol.decline_type}), not opening")
        if vol.is_high:
            return Decision(conclusion=f"High volatility ({_reading(vol)}), not opening")
        ema = snap.indicators.ema100_1h
        fprice = float(price)
        if not (fprice < ema if long else fprice > ema):
            return Decision(explain=(_waiting, long, price, ema))
        ema_text = _like_price(ema, price)
        where = "below" if long else "above"
        qty = snap.balance * self._begin * snap.leverage / price
        reason = f"price {price} {where} 1h EMA100 {ema_text}"
        return self._entry(snap, ActionKind.OPEN, qty, price, reason, ())

    # -- position exists (spec 4b) ---------------------------------------------------------

    def _with_position(
        self, snap: Snapshot, position: Position, long: bool, price: Decimal, critical: bool
    ) -> Decision:
        """Alerts, then profit taking, add, or a reason to wait, in the original branch order."""
        balance = snap.balance
        if self._round:
            pv = rounding.round2(position.margin)
            upnl = rounding.round2(position.unrealised_pnl)
            roe = rounding.round2(upnl / pv) if pv else ZERO
            pct = rounding.round2(pv / balance * HUNDRED)
        else:
            pv = position.margin
            upnl = position.unrealised_pnl
            roe = upnl / pv if pv else ZERO
            pct = pv / balance * HUNDRED
        pf = pv / balance
        vol = snap.indicators.volatility
        dangerous = vol.decline_type in DANGEROUS_DECLINES
        alerts = self._alerts(snap, position, pv, upnl, vol, dangerous)

        if upnl / balance > self._profit_threshold and pf >= self._buy_until:
            return self._take_profit(snap, position, long, price, pct, roe, alerts)
        reason = self._add_reason(snap, position, long, price, pf, pct, upnl, roe, vol, critical)
        if reason is not None:
            # Spec 3.3: a position whose margin reads 0 (rounds to 0.00) is sized as an open.
            if pv:
                qty = pv * snap.leverage * -roe / price
            else:
                qty = snap.balance * self._begin * snap.leverage / price
            return self._entry(snap, ActionKind.ADD, qty, price, reason, alerts)
        if dangerous:
            return Decision(
                alerts=alerts,
                conclusion=f"Dangerous decline ({vol.decline_type}), pausing additions",
            )
        if vol.is_high:
            return Decision(
                alerts=alerts, conclusion=f"High volatility ({_reading(vol)}), pausing additions"
            )
        return Decision(alerts=alerts, conclusion=NOTHING_CHANGED)

    def _alerts(
        self,
        snap: Snapshot,
        position: Position,
        pv: Decimal,
        upnl: Decimal,
        vol: Volatility,
        dangerous: bool,
    ) -> tuple[Alert, ...]:
        """The warnings the original sends every run while a condition lasts (spec 4b)."""
        ml = position.margin_level
        if not (vol.is_high or dangerous or (ml is not None and ml < self._warn_ml)):
            return ()
        alerts = []
        base = {"symbol": snap.symbol, "side": snap.side}
        if ml is not None and ml < self._warn_ml:
            fields = {**base, "margin_level": ml, "value": pv, "upnl": upnl}
            alerts.append(Alert(MARGIN_WARNING, MARGIN_WARNING, fields))
        if vol.is_high:
            fields = {
                **base,
                "metric": vol.trigger,
                "value": vol.value,
                "threshold": vol.threshold,
                "margin_level": ml,
            }
            alerts.append(Alert(HIGH_VOLATILITY, HIGH_VOLATILITY, fields))
        if dangerous:
            fields = {
                **base,
                "decline_type": vol.decline_type,
                "score": vol.decline_score,
                "roc_5": vol.roc_5,
                "smoothness": vol.smoothness,
            }
            alerts.append(Alert(DANGEROUS_DECLINE, DANGEROUS_DECLINE, fields))
        return tuple(alerts)

    def _add_reason(
        self,
        snap: Snapshot,
        position: Position,
        long: bool,
        price: Decimal,
        pf: Decimal,
        pct: Decimal,
        upnl: Decimal,
        roe: Decimal,
        vol: Volatility,
        critical: bool,
    ) -> str | None:
        """Branch 2 of spec 4b in the original's precedence; the clause that fired, or None."""
        texts = self._texts
        if critical:
            return f"margin level {position.margin_level} below {texts['crit']}"
        if vol.decline_type in DANGEROUS_DECLINES:
            return None
        if self._safe_add and vol.decline_type in SAFE_DECLINES and pf < self._safe_limit:
            # Q3: ignores high volatility and the sign of the PnL, as the existing bot.
            return f"{vol.decline_type}, position {pct}% of balance below {texts['safe_limit']}%"
        if vol.is_high:
            return None
        if pf < self._buy_until:
            return f"position {pct}% of balance below {texts['buy_until']}%"
        if upnl < 0 and roe < self._dip_roe:
            ema50 = snap.indicators.ema50
            fprice = float(price)
            if fprice > ema50 if long else fprice < ema50:
                where = "above" if long else "below"
                return (
                    f"ROE {roe} below {texts['dip_roe']} with price {price} {where} "
                    f"EMA50 {_like_price(ema50, price)}"
                )
        return None

    def _take_profit(
        self,
        snap: Snapshot,
        position: Position,
        long: bool,
        price: Decimal,
        pct: Decimal,
        roe: Decimal,
        alerts: tuple[Alert, ...],
    ) -> Decision:
        """Spec 3.1: the first tier the position's size exceeds, else a full close above target."""
        rules = snap.instrument
        exit_price = None if self._market_exit else (snap.ask if long else snap.bid)
        order_side = exit_side(snap.side)
        for tier_pct, fraction, fraction_text, tier_text in self._tiers:
            if pct > tier_pct:
                qty = exit_qty(position.size, fraction, exit_price or price, rules)
                reason = f"position {pct}% of balance above {tier_text}%"
                if qty is None:
                    return Decision(alerts=alerts, conclusion=_too_small(position, reason))
                action = Action(
                    ActionKind.REDUCE, snap.side, order_side, qty, exit_price, True, False, reason
                )
                return Decision(
                    actions=(action,),
                    alerts=alerts,
                    conclusion=f"Reduced {fraction_text}%: {reason}",
                )
        if roe > self._profit_pnl:
            reason = f"ROE {roe} above target {self._texts['profit_pnl']}"
            qty = close_qty(position.size, rules)
            if qty is None:
                return Decision(alerts=alerts, conclusion=_too_small(position, reason))
            action = Action(
                ActionKind.CLOSE, snap.side, order_side, qty, exit_price, True, False, reason
            )
            return Decision(actions=(action,), alerts=alerts, conclusion=f"Closed: {reason}")
        return Decision(
            alerts=alerts,
            conclusion=f"{NOTHING_CHANGED}: in profit, ROE {roe} not above target "
            f"{self._texts['profit_pnl']}",
        )

    # -- sizing (spec 3.3-3.5) -------------------------------------------------------------

    def _entry(
        self,
        snap: Snapshot,
        kind: ActionKind,
        qty: Decimal,
        price: Decimal,
        reason: str,
        alerts: tuple[Alert, ...],
    ) -> Decision:
        """Taper, round and margin-check an OPEN or ADD; refused orders become an alert."""
        positions = snap.account_positions
        if not positions and snap.position is not None:
            positions = (snap.position,)
        balance = snap.balance
        capped = self._max_margin > 0
        if capped:
            cap, used = margin_cap(snap.symbol, positions, self._max_margin, self._split_cap)
            qty = taper(qty, used / balance, cap, cap * self._taper_start)
        rounded = round_entry_qty(qty, price, snap.instrument, self._min_one_step)
        verb = "opening" if kind is ActionKind.OPEN else "adding"
        if rounded is None:
            fields = self._skip_fields(snap, kind, "below the exchange minimum", qty, price)
            alert = Alert(ORDER_SKIPPED, SKIP_BELOW_MINIMUM, fields)
            return Decision(
                alerts=(*alerts, alert),
                conclusion=f"Skipped {verb}: quantity {qty:.8f} below the exchange "
                f"minimum ({reason})",
            )
        if capped:
            usage = margin_usage(used, rounded, price, snap.leverage, balance)
            if usage > cap:
                fields = self._skip_fields(snap, kind, "max margin", rounded, price)
                fields["usage_pct"] = rounding.round2(usage * HUNDRED)
                fields["cap_pct"] = rounding.round2(cap * HUNDRED)
                alert = Alert(ORDER_SKIPPED, SKIP_MAX_MARGIN, fields)
                return Decision(
                    alerts=(*alerts, alert),
                    conclusion=f"Skipped {verb}: margin usage {fields['usage_pct']}% "
                    f"would exceed cap {fields['cap_pct']}% ({reason})",
                )
        action = Action(
            kind, snap.side, entry_side(snap.side), rounded, price, False, self._post_only, reason
        )
        done = "Opened" if kind is ActionKind.OPEN else "Added"
        return Decision(actions=(action,), alerts=alerts, conclusion=f"{done}: {reason}")

    @staticmethod
    def _skip_fields(
        snap: Snapshot, kind: ActionKind, reason: str, qty: Decimal, price: Decimal
    ) -> dict:
        """The order_skipped alert's fields."""
        return {
            "symbol": snap.symbol,
            "side": snap.side,
            "action": kind.value,
            "reason": reason,
            "usage_pct": None,
            "cap_pct": None,
            "qty": qty,
            "price": price,
        }

    @staticmethod
    def _unusable(snap: Snapshot, price: Decimal) -> str:
        """Why a snapshot with no balance, price or leverage leads to no decision."""
        if snap.balance <= 0:
            return f"Skipped: wallet balance is {snap.balance}"
        if price <= 0:
            return f"Skipped: no usable price (bid {snap.bid}, ask {snap.ask})"
        return f"Skipped: leverage must be positive, got {snap.leverage}"


def _too_small(position: Position, reason: str) -> str:
    """The conclusion when an exit would be below the exchange's smallest order."""
    return (
        f"{NOTHING_CHANGED}: position {position.size} is below the smallest order, "
        f"nothing to exit ({reason})"
    )
