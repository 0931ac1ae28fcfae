"""Preferences, webhook endpoints, the delivery log, the in-app list and unsubscribe links."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from notifications import events as catalogue
from saas.auth.web import key_ring, utc_now
from saas.extensions import csrf, db
from saas.inputs import is_ascii_digits, parse_id
from saas.models import Bot, NotificationDelivery, NotificationSetting, WebhookEndpoint
from saas.models.notifications import CHANNELS
from saas.notifications import bp
from saas.notifications.web import PostForm, allow_loopback, limits, my_settings
from saas.services.notifications import inbox, preferences, webhooks
from saas.services.notifications.links import read_unsubscribe_token
from saas.services.notifications.outbox import enqueue

PREFIX = "/account/notifications"


@bp.app_context_processor
def bell():
    """The header bell's unread count for signed-in users."""
    if not current_user.is_authenticated:
        return {}
    seen_at = db.session.scalar(
        select(NotificationSetting.seen_at).where(NotificationSetting.user_id == current_user.id)
    )
    return {"unread_notifications": inbox.unread_count(db.session, current_user.id, seen_at)}


def _hour(name: str) -> int | None:
    """An hour field: blank is None; anything else must be a whole number."""
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    if not is_ascii_digits(raw) or len(raw) > 2:
        raise preferences.PreferenceError("quiet hours are whole hours from 0 to 23 (UTC)")
    return int(raw)


def _submitted() -> preferences.Preferences:
    """The preferences form as values (PreferenceError on malformed numbers)."""
    digest = (request.form.get("email_digest_minutes") or "0").strip()
    if not is_ascii_digits(digest) or len(digest) > 6:
        raise preferences.PreferenceError("the digest interval is a whole number of minutes")
    return preferences.Preferences(
        telegram_enabled=bool(request.form.get("telegram_enabled")),
        email_enabled=bool(request.form.get("email_enabled")),
        webhooks_enabled=bool(request.form.get("webhooks_enabled")),
        kind_channels={
            kind: {c for c in CHANNELS if request.form.get(f"kind-{kind}-{c}")}
            for kind in catalogue.USER_KINDS
        },
        quiet_start_hour=_hour("quiet_start_hour"),
        quiet_end_hour=_hour("quiet_end_hour"),
        email_digest_minutes=int(digest),
        muted_bot_ids={
            bot_id for v in request.form.getlist("muted_bot") if (bot_id := parse_id(v))
        },
    )


def _page(status: int = 200, **extra):
    """The preferences page."""
    setting = my_settings()
    context = {
        "form": PostForm(),
        "setting": setting,
        "prefs": preferences.current(setting),
        "kinds": [catalogue.CATALOGUE[k] for k in catalogue.USER_KINDS],
        "channels": CHANNELS,
        "limits": limits(),
        "bots": db.session.scalars(Bot.owned_by(current_user).order_by(Bot.id)).all(),
        "endpoints": db.session.scalars(
            WebhookEndpoint.owned_by(current_user).order_by(WebhookEndpoint.id)
        ).all(),
        "platform_bot": current_app.config.get("TELEGRAM_BOT_USERNAME"),
        **extra,
    }
    return render_template("notifications/preferences.html", **context), status


@bp.route(PREFIX, methods=["GET", "POST"])
@login_required
def preferences_page():
    """Channels, which kinds go where, quiet hours, digest and muted bots."""
    form = PostForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            preferences.save_preferences(db.session, current_user, _submitted(), limits=limits())
        except preferences.PreferenceError as exc:
            db.session.rollback()
            return _page(400, error=str(exc))
        db.session.commit()
        flash("Notification preferences saved.", "success")
        return redirect(url_for("notifications.preferences_page"))
    if request.method == "POST":
        return _page(400, error="The form expired; please try again.")
    return _page()


@bp.post(f"{PREFIX}/test/<channel>")
@login_required
def send_test(channel: str):
    """Queue a test message on one channel (the delivery worker sends it within seconds)."""
    if channel not in ("telegram", "email") or not PostForm().validate_on_submit():
        abort(404 if channel not in ("telegram", "email") else 400)
    enqueue(
        db.session,
        catalogue.TEST_MESSAGE,
        {"channel": channel, "message": "This is a test from dcabot."},
        now=utc_now(),
        user_id=current_user.id,
    )
    db.session.commit()
    flash(f"A test message is on its way ({channel}).", "success")
    return redirect(url_for("notifications.preferences_page"))


@bp.post(f"{PREFIX}/webhooks")
@login_required
def add_webhook():
    """Add an endpoint; its signing secret is shown on this one page and never again."""
    if not PostForm().validate_on_submit():
        return _page(400, error="The form expired; please try again.")
    try:
        endpoint, secret = webhooks.add_endpoint(
            db.session,
            current_user,
            request.form.get("url", ""),
            ring=key_ring(),
            limits=limits(),
            allow_loopback=allow_loopback(),
            now=utc_now(),
        )
    except webhooks.EndpointError as exc:
        db.session.rollback()
        return _page(400, error=str(exc))
    db.session.commit()
    return _page(201, new_secret=secret, new_endpoint=endpoint)


def _my_endpoint(endpoint_id: int) -> WebhookEndpoint:
    """The user's endpoint, or 404."""
    return WebhookEndpoint.get_owned_or_404(endpoint_id, current_user, db.session)


@bp.post(f"{PREFIX}/webhooks/<int:endpoint_id>/delete")
@login_required
def delete_webhook(endpoint_id: int):
    """Remove an endpoint."""
    endpoint = _my_endpoint(endpoint_id)
    if PostForm().validate_on_submit():
        webhooks.delete_endpoint(db.session, endpoint)
        db.session.commit()
        flash("Webhook endpoint removed.", "success")
    return redirect(url_for("notifications.preferences_page"))


@bp.post(f"{PREFIX}/webhooks/<int:endpoint_id>/enable")
@login_required
def enable_webhook(endpoint_id: int):
    """Turn a disabled endpoint back on."""
    endpoint = _my_endpoint(endpoint_id)
    if PostForm().validate_on_submit():
        webhooks.enable_endpoint(endpoint)
        db.session.commit()
    return redirect(url_for("notifications.preferences_page"))


@bp.post(f"{PREFIX}/webhooks/<int:endpoint_id>/test")
@login_required
def test_webhook(endpoint_id: int):
    """Queue a test event to one endpoint."""
    endpoint = _my_endpoint(endpoint_id)
    if PostForm().validate_on_submit():
        enqueue(
            db.session,
            catalogue.TEST_MESSAGE,
            {"channel": "webhook", "endpoint_id": endpoint.id, "message": "test"},
            now=utc_now(),
            user_id=current_user.id,
        )
        db.session.commit()
        flash("A test event is on its way.", "success")
    return redirect(url_for("notifications.delivery_log"))


@bp.get(f"{PREFIX}/log")
@login_required
def delivery_log():
    """The last 100 delivery attempts with status, latency and response code."""
    rows = inbox.delivery_log(db.session, current_user.id)
    return render_template("notifications/log.html", rows=rows, form=PostForm())


@bp.post(f"{PREFIX}/deliveries/<int:delivery_id>/resend")
@login_required
def resend(delivery_id: int):
    """Send a delivery again (the same event id)."""
    delivery = NotificationDelivery.get_owned_or_404(delivery_id, current_user, db.session)
    if PostForm().validate_on_submit():
        inbox.resend(db.session, delivery, utc_now())
        db.session.commit()
        flash("Queued again.", "success")
    return redirect(url_for("notifications.delivery_log"))


@bp.get(f"{PREFIX}/inbox")
@login_required
def inbox_page():
    """The last 50 events; opening the list marks them read."""
    events = inbox.recent(db.session, current_user.id)
    inbox.mark_seen(db.session, current_user.id, utc_now())
    db.session.commit()
    return render_template(
        "notifications/inbox.html", events=events, catalogue=catalogue, unread_notifications=0
    )


@bp.route(f"{PREFIX}/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: mail clients POST without our token; the link is signed
def unsubscribe(token: str):
    """Stop e-mails about one kind of event, from the signed link in a mail."""
    found = read_unsubscribe_token(current_app.config["SECRET_KEY"], token)
    if found is None:
        abort(404)
    user_id, kind = found
    preferences.unsubscribe_kind(db.session, user_id, kind)
    db.session.commit()
    title = catalogue.event_type(kind).title
    return render_template("notifications/unsubscribed.html", title=title)
