"""Helpers for the notification tests: users with settings and endpoints, a worker context."""

from __future__ import annotations

from datetime import UTC, datetime

from saas.extensions import db
from saas.models import NotificationDelivery, NotificationOutbox, NotificationSetting
from saas.plans import limits_for, load_plans
from saas.security import KeyRing
from saas.services.notifications import webhooks
from saas.services.notifications.outbox import enqueue
from saas.services.notifications.worker import context_from_app

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def context(app, **overrides):
    """A worker context without sleeping between sends."""
    return context_from_app(app, sleep=lambda s: None, **overrides)


def add_settings(app, user_id: int, **fields) -> None:
    """The user's notification settings row."""
    with app.app_context():
        db.session.add(NotificationSetting(user_id=user_id, **fields))
        db.session.commit()


def add_endpoint(app, user, url: str, now=NOW) -> tuple[int, str]:
    """An endpoint of ``user`` (an Enterprise user) and its secret; webhooks switched on."""
    with app.app_context():
        ring = KeyRing.from_string(app.config["ENCRYPTION_KEY"])
        fresh = db.session.merge(user)
        endpoint, secret = webhooks.add_endpoint(
            db.session,
            fresh,
            url,
            ring=ring,
            limits=limits_for(fresh, load_plans(), now),
            allow_loopback=True,
            now=now,
        )
        setting = db.session.query(NotificationSetting).filter_by(user_id=user.id).one_or_none()
        if setting is None:
            setting = NotificationSetting(user_id=user.id)
            db.session.add(setting)
        setting.webhooks_enabled = True
        db.session.commit()
        return endpoint.id, secret


def emit(app, user_id: int, kind: str, fields: dict | None = None, now=NOW, count: int = 1):
    """Write events to the outbox as a cause would."""
    with app.app_context():
        rows = [
            enqueue(
                db.session,
                kind,
                fields or {"symbol": "BTCUSDT", "side": "Long"},
                now=now,
                user_id=user_id,
            )
            for _ in range(count)
        ]
        db.session.commit()
        return [r.event_id for r in rows]


def deliveries(app) -> list[NotificationDelivery]:
    """Every delivery, oldest first."""
    with app.app_context():
        rows = db.session.query(NotificationDelivery).order_by(NotificationDelivery.id).all()
        db.session.expunge_all()
        return rows


def outbox(app, **filters) -> list[NotificationOutbox]:
    """Outbox rows, oldest first."""
    with app.app_context():
        rows = (
            db.session.query(NotificationOutbox)
            .filter_by(**filters)
            .order_by(NotificationOutbox.id)
            .all()
        )
        db.session.expunge_all()
        return rows
