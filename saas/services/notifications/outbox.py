"""Writing events to the outbox, in the caller's transaction, so an event exists iff its cause does.

Callers pass their own session and never commit here: a trade and its "position opened" event,
or a pause and its "bot paused" event, are committed together or not at all.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from notifications import events as catalogue
from notifications.base import Event, Notifier
from saas.db import session_scope
from saas.models import Bot, NotificationOutbox
from workflows.journal import to_json

logger = logging.getLogger("dcabot.notifications")


def json_safe(value):
    """Decimals and datetimes as strings, so any field fits a JSON column."""
    return json.loads(json.dumps(value, default=to_json))


def enqueue(
    session: Session,
    kind: str,
    fields: Mapping | None = None,
    *,
    now: datetime,
    user_id: int | None = None,
    bot_id: int | None = None,
    dedupe_key: str | None = None,
) -> NotificationOutbox | None:
    """Add one event (flushed, not committed); None when ``dedupe_key`` already has one."""
    if dedupe_key is not None:
        taken = session.scalar(
            select(NotificationOutbox.id).where(NotificationOutbox.dedupe_key == dedupe_key)
        )
        if taken is not None:
            return None
    row = NotificationOutbox(
        event_id=str(uuid.uuid4()),
        user_id=user_id,
        bot_id=bot_id,
        kind=kind,
        severity=catalogue.severity(kind),
        fields=json_safe(dict(fields or {})),
        created_at=now,
        dedupe_key=dedupe_key,
    )
    if dedupe_key is None:
        session.add(row)
        return row
    try:
        with session.begin_nested():  # a concurrent writer of the same key loses quietly
            session.add(row)
    except IntegrityError:
        return None
    return row


def enqueue_for_bot(
    session: Session, bot_id: int, event: Event, *, now: datetime, dedupe_key: str | None = None
) -> NotificationOutbox | None:
    """An event of a bot, for the bot's owner."""
    user_id = session.scalar(select(Bot.user_id).where(Bot.id == bot_id))
    if user_id is None:
        return None
    return enqueue(
        session,
        event.kind,
        event.fields,
        now=now,
        user_id=user_id,
        bot_id=bot_id,
        dedupe_key=dedupe_key,
    )


FILL_KIND = {
    "OPEN": catalogue.base.POSITION_OPENED,
    "ADD": catalogue.base.POSITION_ADDED,
    "REDUCE": catalogue.base.POSITION_REDUCED,
    "CLOSE": catalogue.base.POSITION_CLOSED,
}


def fill_event(trade) -> Event:
    """The event of a booked fill (a workflows.journal.TradeRecord)."""
    balance = trade.balance
    roe = None if trade.pnl_percentage is None else trade.pnl_percentage / 100
    return Event(
        FILL_KIND.get(trade.action, trade.action.lower()),
        {
            "symbol": trade.symbol,
            "side": trade.side,
            "qty": trade.qty,
            "price": trade.price,
            "size": trade.position_size,
            "value": trade.position_value,
            "pct": trade.position_value / balance * 100 if balance else None,
            "roe": roe,
            "pnl": trade.realised_pnl,
            "fee": trade.fee,
            "balance": balance,
            "margin_level": trade.margin_level,
            "client_order_id": trade.client_order_id,
            "filled_at": trade.time,
        },
    )


def enqueue_fill(session: Session, bot_id: int, trade, *, now: datetime) -> None:
    """The fill's event, in the transaction that writes its trade (called by the journal).

    A fill that cannot be described (odd values) is logged and its trade still written:
    notifications never stop trading.
    """
    try:
        event = fill_event(trade)
        fields = json_safe(event.fields)
    except Exception:  # noqa: BLE001 - the trade matters more than its message
        logger.exception("could not describe a fill", extra={"bot": bot_id})
        return
    enqueue_for_bot(session, bot_id, Event(event.kind, fields), now=now)


def order_refused_event(order) -> Event:
    """The event of an order the exchange refused (a workflows.journal.OrderRecord)."""
    return Event(
        catalogue.ORDER_REFUSED,
        {
            "symbol": order.symbol,
            "side": order.side,
            "action": order.action,
            "qty": order.qty,
            "price": order.price,
            "message": order.error or "refused by the exchange",
            "client_order_id": order.client_order_id,
        },
    )


class OutboxNotifier(Notifier):
    """The runner's notifier in database mode: every event becomes an outbox row, at once.

    Fills reach the outbox with their trade (DatabaseJournal.record_trade), so the workflow's
    copy of a booked fill (it carries ``qty``) is dropped here; a close without a fill of ours
    is the "position gone" event. Writing never raises into trading.
    """

    name = "outbox"

    def __init__(
        self,
        sessions: sessionmaker[Session],
        bot_id: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.sessions = sessions
        self.bot_id = int(bot_id)
        self.clock = clock

    def send(self, event: Event) -> None:
        """Write the event for the bot's owner (its own short transaction)."""
        if event.kind in catalogue.FILL_KINDS and "qty" in (event.fields or {}):
            return
        if event.kind == catalogue.base.POSITION_CLOSED:
            event = Event(catalogue.POSITION_GONE, dict(event.fields or {}))
        with session_scope(self.sessions) as session:
            enqueue_for_bot(session, self.bot_id, event, now=self.clock())
