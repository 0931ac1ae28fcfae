"""Live versus backtest drift: what the bot did against what the replay of the same period did.

Both sides are lists of orders keyed by (decision time, pair, action number): the live ones from
the journal, the replay's from the backtester run over the candles the bot saw. Where they part,
each divergence gets a cause:

- ``exchange refusal``: the exchange refused an order the replay's engine took;
- ``missed fill``: the same order, filled on one side only (queue position, a wick the candles
  do not show);
- ``manual change``: a position changed outside the bot (closed by hand, liquidated elsewhere)
  since the last decision on which both sides agreed;
- ``data gap``: candles are missing between the two decisions, so the replay did not decide;
- ``follows an earlier divergence``: the state had already parted, so the decisions differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from clients.base import FILLED
from workflows.backtest_data import fmt_ms
from workflows.backtest_engine import REJECTED, ReplayResult

REFUSAL = "exchange refusal"
MISSED_FILL = "missed fill"
MANUAL = "manual change"
DATA_GAP = "data gap"
FOLLOWS = "follows an earlier divergence"
DIFFERENT = "different decision"


@dataclass(frozen=True, slots=True)
class DriftOrder:
    """One order of either side, reduced to what the comparison looks at."""

    t_ms: int
    pair_key: str
    n: int
    action: str
    qty: Decimal
    price: Decimal | None
    placed: bool  # False: refused
    filled: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class Divergence:
    """Where live and replay parted, and why."""

    t_ms: int
    pair_key: str
    cause: str
    live: DriftOrder | None
    replay: DriftOrder | None

    def when(self) -> str:
        """The decision time as 'YYYY-MM-DD HH:MM' UTC."""
        return fmt_ms(self.t_ms)

    def describe(self) -> str:
        """One line for the page and the weekly message."""

        def show(order: DriftOrder | None) -> str:
            if order is None:
                return "nothing"
            price = "market" if order.price is None else f"{order.price}"
            state = "refused" if not order.placed else ("filled" if order.filled else "unfilled")
            return f"{order.action} {order.qty} @ {price} ({state})"

        return f"live {show(self.live)}; replay {show(self.replay)}: {self.cause}"


def action_number(client_order_id: str) -> int:
    """The n of a ``b{bot}-p{pair}-{run}-{n}`` id (1 when it has none)."""
    tail = client_order_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 1


def live_orders(records, cadence_ms: int) -> list[DriftOrder]:
    """Journal order records as drift orders, timed at their decision (the cadence tick)."""
    orders = []
    for r in records:
        t_ms = int(r.created_at.timestamp() * 1000) // cadence_ms * cadence_ms
        orders.append(
            DriftOrder(
                t_ms,
                str(r.pair_key),
                action_number(r.client_order_id),
                r.action,
                r.qty,
                r.price,
                r.status != "rejected",
                r.status == FILLED or (r.filled_qty or 0) > 0,
                r.error,
            )
        )
    return orders


def replay_orders(result: ReplayResult) -> list[DriftOrder]:
    """The replay's orders with whether its engine filled them."""
    keys = [pair.pair_key or str(i + 1) for i, pair in enumerate(result.pairs)]
    orders = []
    for log in result.orders:
        placed = log.status != REJECTED
        engine_order = result.engine.orders.get(log.client_order_id)
        orders.append(
            DriftOrder(
                log.t_ms,
                keys[log.pair],
                action_number(log.client_order_id),
                log.action.kind.value,
                log.action.qty,
                log.action.price,
                placed,
                placed and engine_order is not None and engine_order.status == FILLED,
                log.error,
            )
        )
    return orders


def _same(a: DriftOrder, b: DriftOrder) -> bool:
    """The same decision: action, size and price."""
    return (a.action, a.qty, a.price) == (b.action, b.qty, b.price)


def compare(
    live: list[DriftOrder],
    replay: list[DriftOrder],
    manual_changes: list[tuple[int, str]] = (),
    gaps: list[tuple[int, int]] = (),
) -> list[Divergence]:
    """Every divergence in time order. ``manual_changes``: (time ms, pair key) of positions
    changed outside the bot; ``gaps``: (from ms, to ms) spans with missing candles."""
    live_by = {(o.t_ms, o.pair_key, o.n): o for o in live}
    replay_by = {(o.t_ms, o.pair_key, o.n): o for o in replay}
    parted: dict[str, bool] = {}
    seen_at: dict[str, int] = {}  # the last decision compared, per pair
    found = []
    for key in sorted(set(live_by) | set(replay_by)):
        t_ms, pair, _ = key
        a, b = live_by.get(key), replay_by.get(key)
        if a is not None and b is not None and _same(a, b):
            if a.placed != b.placed:
                cause = REFUSAL if not a.placed else DIFFERENT
            elif a.filled != b.filled:
                cause = MISSED_FILL
            else:
                seen_at[pair] = t_ms
                continue
        else:
            since = seen_at.get(pair, -1)
            if any(since < t <= t_ms and p == pair for t, p in manual_changes):
                cause = MANUAL
            elif any(since < end and start <= t_ms for start, end in gaps):
                cause = DATA_GAP
            elif parted.get(pair):
                cause = FOLLOWS
            else:
                cause = DIFFERENT
        parted[pair] = True
        seen_at[pair] = t_ms
        found.append(Divergence(t_ms, pair, cause, a, b))
    return found
