"""The daily summary: yesterday's fills and realised PnL per user, once, in the first hour (UTC)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications import events as catalogue
from saas.models import Bot, NotificationOutbox, Trade
from saas.services.notifications.outbox import enqueue


def daily_summaries(session: Session, now: datetime) -> int:
    """Enqueue yesterday's summary for each user who traded; how many were written."""
    if now.hour != 0:
        return 0  # a pass every minute: the first hour of the day is plenty of chances
    today = datetime.combine(now.date(), time(), tzinfo=now.tzinfo)
    done = session.scalar(
        select(NotificationOutbox.id)
        .where(
            NotificationOutbox.kind == catalogue.DAILY_SUMMARY,
            NotificationOutbox.created_at >= today,
        )
        .limit(1)
    )
    if done is not None:
        return 0
    day = (today - timedelta(days=1)).date()
    rows = session.execute(
        select(
            Bot.user_id,
            func.count(Trade.id),
            func.coalesce(func.sum(Trade.pnl), 0),
            func.coalesce(func.sum(Trade.fee), 0),
            func.count(func.distinct(Trade.bot_id)),
        )
        .join(Bot, Trade.bot_id == Bot.id)
        .where(Trade.time >= today - timedelta(days=1), Trade.time < today)
        .group_by(Bot.user_id)
    ).all()
    written = 0
    for user_id, count, pnl, fees, bots in rows:
        fields = {
            "day": day.isoformat(),
            "trades": count,
            "realised_pnl": pnl,
            "fees": fees,
            "bots": bots,
        }
        row = enqueue(
            session,
            catalogue.DAILY_SUMMARY,
            fields,
            now=now,
            user_id=user_id,
            dedupe_key=f"summary:{user_id}:{day.isoformat()}",
        )
        written += row is not None
    return written
