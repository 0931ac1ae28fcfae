"""Telegram: the deep link, unlink, a user's own bot, and the endpoint for the Bot API's updates."""

from __future__ import annotations

import hmac

from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from flask_login import current_user, login_required

from saas.auth.web import key_ring, utc_now
from saas.extensions import csrf, db, limiter
from saas.notifications import bp
from saas.notifications.routes import PREFIX, _page
from saas.notifications.web import PostForm, limits
from saas.services.notifications import telegram_link

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


@bp.post(f"{PREFIX}/telegram/link")
@login_required
def telegram_link_start():
    """A one-time deep link to the platform bot (Pro plans and up)."""
    if not PostForm().validate_on_submit():
        return _page(400, error="The form expired; please try again.")
    if not limits().telegram:
        return _page(400, error=f"Telegram is not part of the {limits().name} plan; upgrade first")
    username = current_app.config.get("TELEGRAM_BOT_USERNAME")
    if not username:
        return _page(400, error="This server has no Telegram bot; enter your own bot below")
    link = telegram_link.start_link(
        db.session, current_user.id, bot_username=username, now=utc_now()
    )
    db.session.commit()
    return _page(deep_link=link)


@bp.post(f"{PREFIX}/telegram/unlink")
@login_required
def telegram_unlink():
    """Forget the linked chat."""
    if PostForm().validate_on_submit():
        telegram_link.unlink(db.session, current_user.id)
        db.session.commit()
        flash("Telegram unlinked.", "success")
    return redirect(url_for("notifications.preferences_page"))


@bp.post(f"{PREFIX}/telegram/own")
@login_required
def telegram_own_bot():
    """Use the user's own bot token (stored encrypted) and chat id."""
    if not PostForm().validate_on_submit():
        return _page(400, error="The form expired; please try again.")
    if not limits().telegram:
        return _page(400, error=f"Telegram is not part of the {limits().name} plan; upgrade first")
    try:
        telegram_link.use_own_bot(
            db.session,
            current_user.id,
            key_ring(),
            request.form.get("bot_token", ""),
            request.form.get("chat_id", ""),
        )
    except ValueError as exc:
        db.session.rollback()
        return _page(400, error=str(exc))
    db.session.commit()
    flash("Your Telegram bot is saved; turn Telegram on and send a test.", "success")
    return redirect(url_for("notifications.preferences_page"))


@bp.post("/telegram/webhook")
@csrf.exempt  # Telegram authenticates with the secret token header instead
@limiter.limit("120 per minute")
def telegram_webhook():
    """Updates from the Bot API (setWebhook with secret_token); links chats on /start <token>."""
    secret = current_app.config.get("TELEGRAM_WEBHOOK_SECRET")
    if not secret:
        abort(404)
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        abort(403)
    update = request.get_json(silent=True) or {}
    linked = telegram_link.handle_update(db.session, update, now=utc_now())
    db.session.commit()
    if linked is None:
        return jsonify({})
    # Answering with a method makes Telegram send it: no outgoing call from the web worker.
    return jsonify(
        {"method": "sendMessage", "chat_id": linked[1], "text": telegram_link.LINKED_TEXT}
    )
