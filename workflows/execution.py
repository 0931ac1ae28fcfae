"""Order execution for one pair: intent before send, settle by look-up, book each fill once."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from clients.base import (
    FILLED,
    GOOD_TILL_CANCEL,
    NEW,
    PARTIALLY_FILLED,
    POST_ONLY,
    ExchangeClient,
    OrderRequest,
    OrderResult,
)
from clients.errors import (
    DuplicateOrderIdError,
    InsufficientFundsError,
    InvalidOrderError,
    OutcomeUnknownError,
    TemporaryError,
)
from notifications.base import Event, Notifier
from strategies.types import LONG, Action, Snapshot
from workflows import journal as j
from workflows.journal import Journal, OrderRecord, TradeRecord

logger = logging.getLogger("dcabot.trading")

FILL_EVENTS = {
    "OPEN": "position_opened",
    "ADD": "position_added",
    "REDUCE": "position_reduced",
    "CLOSE": "position_closed",
}


def order_prefix(bot_key: str, pair_key: str) -> str:
    """Every client order id of a pair starts with this, so we cancel only our own orders."""
    return f"b{bot_key}-p{pair_key}-"


def recorded_fill(record: OrderRecord) -> OrderResult:
    """The fill the journal recorded for an order, as the exchange would report it."""
    return OrderResult(
        client_order_id=record.client_order_id,
        symbol=record.symbol,
        side=record.order_side,
        position_side=record.side,
        qty=record.qty,
        price=record.price,
        status=FILLED,
        filled_qty=record.filled_qty,
        avg_price=record.avg_price,
        fee=record.fee,
        exchange_order_id=record.exchange_order_id,
    )


def order_request(symbol: str, side: str, action: Action, cid: str) -> OrderRequest:
    """The exchange order for a strategy action (live runs and backtests send the same)."""
    return OrderRequest(
        symbol=symbol,
        side=action.order_side,
        position_side=side,
        qty=action.qty,
        price=action.price,
        client_order_id=cid,
        reduce_only=action.reduce_only,
        time_in_force=POST_ONLY if action.post_only else GOOD_TILL_CANCEL,
    )


class OrderExecutor:
    """Places, reconciles and books a bot's orders; never sends the same order twice."""

    def __init__(self, client: ExchangeClient, journal: Journal, notifier: Notifier, bot_key: str):
        self.client = client
        self.journal = journal
        self.notifier = notifier
        self.bot_key = bot_key
        self.exited: set[str] = set()  # pairs whose position our own fill closed this run

    def reconcile(self, pair, now: datetime) -> None:
        """Cancel our stale orders, then settle every order the journal has not closed."""
        self.journal.fence()
        self.client.cancel_orders(pair.symbol, order_prefix(self.bot_key, pair.pair_key))
        for record in self.journal.unsettled_orders(pair.pair_key):
            result = self.client.get_order(pair.symbol, record.client_order_id)
            if result is None and record.status == j.FILLED:
                # Filled but never booked, and the exchange no longer lists it: book what the
                # journal saw when it filled.
                result = recorded_fill(record)
            if result is None:
                # The exchange never saw it: a send that failed before arriving.
                record.status, record.updated_at = j.REJECTED, now
                record.error = record.error or "not found on the exchange"
                self.journal.update_order(record)
                continue
            self.settle(record, result, pair, now)

    def execute(
        self,
        pair,
        action: Action,
        snapshot: Snapshot,
        run_id: str,
        n: int,
        now: datetime,
    ) -> int:
        """Write the intent, send the order, record what came back; 1 when it reached the book."""
        cid = f"{order_prefix(self.bot_key, pair.pair_key)}{run_id}-{n}"
        position = snapshot.position
        record = OrderRecord(
            client_order_id=cid,
            pair_key=pair.pair_key,
            symbol=pair.symbol,
            side=pair.side,
            action=action.kind.value,
            order_side=action.order_side,
            qty=action.qty,
            price=action.price,
            status=j.PENDING,
            run_id=run_id,
            created_at=now,
            reduce_only=action.reduce_only,
            post_only=action.post_only,
            reason=action.reason,
            ref_entry_price=position.entry_price if position else None,
            ref_margin=position.margin if position else None,
        )
        # Fenced twice: the intent is written, and the order sent, only while the lock is ours.
        self.journal.fence()
        self.journal.record_intent(record)
        request = order_request(pair.symbol, pair.side, action, cid)
        self.journal.fence()
        try:
            result = self.client.place_order(request)
        except DuplicateOrderIdError:
            result = self.client.get_order(pair.symbol, cid)
        except OutcomeUnknownError as exc:
            # Never re-sent: the next run's reconciliation looks it up by its client id. The
            # pair stops here (no further order on a state we cannot see) and the run exits 1.
            record.status, record.error, record.updated_at = j.UNKNOWN, str(exc), now
            self.journal.update_order(record)
            logger.warning(
                "order outcome unknown", extra={"symbol": pair.symbol, "json": {"id": cid}}
            )
            raise
        except (InvalidOrderError, InsufficientFundsError) as exc:
            record.status, record.error, record.updated_at = j.REJECTED, str(exc), now
            self.journal.update_order(record)
            logger.warning(
                "order rejected", extra={"symbol": pair.symbol, "json": {"error": str(exc)}}
            )
            self.journal.log("warning", f"order rejected: {exc}", symbol=pair.symbol)
            return 0
        except TemporaryError as exc:
            # Only errors that prove the order was refused reach here (rate limit, maintenance
            # answered before accepting): anything uncertain is OutcomeUnknownError above.
            record.status, record.error, record.updated_at = j.REJECTED, str(exc), now
            self.journal.update_order(record)
            raise
        if result is None:
            record.status, record.updated_at = j.UNKNOWN, now
            self.journal.update_order(record)
            raise OutcomeUnknownError(f"order {cid} was acknowledged but cannot be found yet")
        self.settle(record, result, pair, now)
        return 1

    def settle(self, record: OrderRecord, result: OrderResult, pair, now) -> None:
        """Bring a journal order in line with the exchange and book its fill exactly once.

        A fill's position and balance are read first; then its filled status and its trade are
        written together (Journal.book_fill). A failed read or a kill before that leaves the
        order unsettled in the journal, so the next run looks it up and books it.
        """
        record.exchange_order_id = result.exchange_order_id or record.exchange_order_id
        record.filled_qty, record.avg_price, record.fee = (
            result.filled_qty,
            result.avg_price,
            result.fee,
        )
        record.updated_at = now
        if result.status in (NEW, PARTIALLY_FILLED):
            record.status = j.OPEN
        elif result.status == FILLED:
            record.status = j.FILLED
        elif result.filled_qty > 0:
            record.status = j.FILLED  # cancelled after a partial fill: what filled is ours
        else:
            record.status = j.CANCELLED if result.status == "cancelled" else j.REJECTED
        if record.status == j.FILLED and result.filled_qty > 0:
            self.book_fill(record, result, pair, now)
        else:
            self.journal.update_order(record)

    def book_fill(self, record: OrderRecord, result: OrderResult, pair, now) -> None:
        """Write the filled status and the trade together (once per order), then tell the owner."""
        qty, price = result.filled_qty, result.avg_price or record.price
        realised = Decimal(0)
        if record.action in ("REDUCE", "CLOSE") and record.ref_entry_price is not None:
            diff = price - record.ref_entry_price
            realised = diff * qty if record.side == LONG else -diff * qty
        position = self.client.get_position(pair.symbol, pair.side)
        balance = self.client.get_balance().wallet
        if position is not None and position.margin > 0:
            roe = position.unrealised_pnl / position.margin
        elif record.ref_margin:
            roe = realised / record.ref_margin
        else:
            roe = None
        trade = TradeRecord(
            time=now,
            pair_key=pair.pair_key,
            symbol=pair.symbol,
            side=pair.side,
            action=record.action,
            qty=qty,
            price=price,
            fee=result.fee,
            realised_pnl=realised,
            client_order_id=record.client_order_id,
            position_size=position.size if position else Decimal(0),
            position_value=position.margin if position else Decimal(0),
            pnl_percentage=None if roe is None else roe * 100,
            margin_level=position.margin_level if position else None,
            balance=balance,
        )
        if not self.journal.book_fill(record, trade):
            return
        if trade.position_size == 0:
            self.exited.add(pair.pair_key)
        logger.info(
            "fill",
            extra={
                "symbol": pair.symbol,
                "action": record.action,
                "json": {"qty": str(qty), "price": str(price)},
            },
        )
        self.notifier.send(
            Event(
                FILL_EVENTS[record.action],
                {
                    "symbol": pair.symbol,
                    "side": pair.side,
                    "qty": qty,
                    "price": price,
                    "size": trade.position_size,
                    "value": trade.position_value,
                    "pct": trade.position_value / balance * 100 if balance else None,
                    "upnl": position.unrealised_pnl if position else None,
                    "roe": roe,
                    "pnl": realised,
                    "reason": record.reason,
                    "balance": balance,
                    "fee": result.fee,
                },
            )
        )
