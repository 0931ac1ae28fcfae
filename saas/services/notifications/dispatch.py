"""Fan-out: each new outbox event becomes one delivery per channel (and per webhook endpoint).

Which channels follow the owner's preferences (switches, kinds, muted bots); operator alerts go
to OPS_ALERT_EMAIL and the ops webhook. Account notices (a webhook disabled, a channel stopped)
always go by e-mail: the owner must hear of them. The bell reads the outbox itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications import events as catalogue
from saas.models import (
    NotificationDelivery,
    NotificationOutbox,
    NotificationSetting,
    WebhookEndpoint,
)
from saas.models.notifications import PENDING
from saas.services.notifications.preferences import channels_for

FORCED_EMAIL = frozenset({catalogue.WEBHOOK_DISABLED, catalogue.CHANNEL_STOPPED})


def _targets(row, setting, endpoints, config: Mapping) -> list[tuple[str, int | None]]:
    """(channel, endpoint id) pairs the event goes to."""
    if row.user_id is None:
        ops = []
        if config.get("OPS_ALERT_EMAIL"):
            ops.append(("ops_email", None))
        if config.get("OPS_ALERT_WEBHOOK_URL"):
            ops.append(("ops_webhook", None))
        return ops
    if row.kind in FORCED_EMAIL:
        return [("email", None)]
    if row.kind == catalogue.TEST_MESSAGE:
        channel = (row.fields or {}).get("channel")
        if channel == "webhook":
            wanted = (row.fields or {}).get("endpoint_id")
            return [("webhook", e.id) for e in endpoints if e.id == wanted]
        return [(channel, None)] if channel in ("telegram", "email") else []
    if setting is None or (row.bot_id is not None and row.bot_id in (setting.muted_bot_ids or [])):
        return []
    chosen = channels_for(setting, row.kind)
    targets: list[tuple[str, int | None]] = []
    if "telegram" in chosen and setting.telegram_enabled and setting.telegram_chat_id:
        targets.append(("telegram", None))
    if "email" in chosen and setting.email_enabled:
        targets.append(("email", None))
    if "webhook" in chosen and setting.webhooks_enabled:
        targets.extend(("webhook", e.id) for e in endpoints if e.enabled)
    return targets


def dispatch(session: Session, config: Mapping, *, now: datetime, limit: int = 500) -> int:
    """Make the deliveries of up to ``limit`` new events; how many events were fanned out."""
    query = (
        select(NotificationOutbox)
        .where(NotificationOutbox.dispatched_at.is_(None))
        .order_by(NotificationOutbox.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # two workers never fan out one event
    rows = session.scalars(query).all()
    if not rows:
        return 0
    user_ids = {r.user_id for r in rows if r.user_id is not None}
    settings = {
        s.user_id: s
        for s in session.scalars(
            select(NotificationSetting).where(NotificationSetting.user_id.in_(user_ids))
        )
    }
    endpoints: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.user_id.in_(user_ids))
        .order_by(WebhookEndpoint.id)
    ):
        endpoints.setdefault(endpoint.user_id, []).append(endpoint)
    for row in rows:
        for channel, endpoint_id in _targets(
            row, settings.get(row.user_id), endpoints.get(row.user_id, []), config
        ):
            session.add(
                NotificationDelivery(
                    outbox_id=row.id,
                    user_id=row.user_id,
                    channel=channel,
                    endpoint_id=endpoint_id,
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        row.dispatched_at = now
    return len(rows)
