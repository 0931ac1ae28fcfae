"""The bots pages: thin views over saas.services.bots.edit (pairs: saas.bots.pair_routes).

Every view needs a login (one before_request for the whole blueprint) and finds bots and pairs
through the owner-scoped helpers, so another user's id is a 404. State changes are POSTs with a
CSRF token; a refused change rolls back and re-renders the form with the reason.
"""

from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required

from saas.bots import bp
from saas.bots.forms import ActionForm, BotForm, KeyCheckForm, KeysForm, SettingsForm
from saas.bots.helpers import (
    KEY_CHECK_SCOPE,
    check_typed_keys,
    client_ip,
    key_check_limit,
    key_permissions,
    key_ring,
    limit_key,
    not_a_key_test,
    now,
    plan_table,
    refuse,
    refuse_key,
    report_flash,
    sync_cron,
)
from saas.extensions import db, limiter
from saas.services.bots import edit as bots_web
from saas.services.bots.edit import BotError, BotSettings, NewBot
from saas.services.bots.key_permissions import KeyCheck


@bp.before_request
@login_required
def require_login():
    """Every bots page is for a logged-in user; anonymous callers go to the login page."""


@bp.route("/")
def index():
    """The user's bots: status, exchange, pairs, last and next run, last error."""
    rows = bots_web.list_bots(db.session, current_user)
    return render_template("bots/index.html", rows=rows)


@bp.route("/new", methods=["GET", "POST"])
@limiter.shared_limit(
    key_check_limit,
    KEY_CHECK_SCOPE,
    key_func=limit_key,
    methods=["POST"],
    exempt_when=not_a_key_test,
)
def create():
    """Step 1 of the wizard: name, exchange, testnet, keys; then on to the first pair."""
    form = BotForm()
    report = None
    if form.validate_on_submit():
        if form.test.data:
            report = check_typed_keys(
                form.exchange.data, form.testnet.data, form.api_key.data, form.api_secret.data
            )
        else:
            check = None
            if form.exchange.data != "paper" and form.api_key.data and form.api_secret.data:
                check = key_permissions(
                    form.exchange.data, form.testnet.data, form.api_key.data, form.api_secret.data
                )
            if not refuse_key(form, check):
                response = _create_bot(form, check)
                if response is not None:
                    return response
    return render_template("bots/create.html", form=form, report=report)


def _create_bot(form: BotForm, check):
    """Save the wizard's first step; a redirect to the next, or None with the form's error."""
    try:
        ring = key_ring() if form.exchange.data != "paper" else None
        data = NewBot(
            form.name.data,
            form.exchange.data,
            form.testnet.data,
            form.api_key.data or "",
            form.api_secret.data or "",
        )
        bot = bots_web.create_user_bot(
            db.session,
            current_user,
            data,
            ring=ring,
            ip=client_ip(),
            plans=plan_table(),
            key_check=check.as_dict() if check else None,
        )
        db.session.commit()
    except BotError as exc:
        refuse(form, exc)
        return None
    current_app.logger.info("bot %s (%s) created by user %s", bot.id, bot.exchange, current_user.id)
    flash(f"Bot {bot.name!r} created. Now add the pair it trades.", "success")
    return redirect(url_for("bots.pair_create", bot_id=bot.id, wizard=1))


@bp.route("/check-keys", methods=["POST"])
@limiter.shared_limit(key_check_limit, KEY_CHECK_SCOPE, key_func=limit_key)
def check_keys():
    """JSON for static/bots.js: test typed-in keys without leaving (or clearing) the form."""
    form = KeyCheckForm()
    if not form.validate_on_submit():
        return jsonify(ok=False, message="The form expired; reload the page."), 400
    report = check_typed_keys(
        form.exchange.data, form.testnet.data, form.api_key.data, form.api_secret.data
    )
    return jsonify(ok=report.ok, message=report.message, note=report.note)


@bp.route("/<int:bot_id>")
def detail(bot_id: int):
    """A bot: status, pairs, key hints, last runs and recent log lines."""
    bot = bots_web.owned_bot(db.session, current_user, bot_id)
    activity = bots_web.bot_activity(db.session, current_user, bot)
    hints = None
    if bot.exchange != "paper":
        try:
            hints = bots_web.key_hints(bot, key_ring())
        except BotError as exc:
            flash(exc.message, "warning")
    return render_template(
        "bots/detail.html",
        bot=bot,
        pairs=list(bot.pairs),
        activity=activity,
        hints=hints,
        key_check=KeyCheck.from_dict(bot.key_check),
        action=ActionForm(),
    )


@bp.route("/<int:bot_id>/edit", methods=["GET", "POST"])
def edit(bot_id: int):
    """Rename the bot, switch testnet, change how often it runs."""
    bot = bots_web.owned_bot(db.session, current_user, bot_id)
    form = SettingsForm(obj=bot)
    if form.validate_on_submit():
        data = BotSettings(form.name.data, form.testnet.data, form.run_interval_minutes.data)
        try:
            bots_web.update_bot_settings(
                db.session,
                current_user,
                bot.id,
                data,
                now=now(),
                ip=client_ip(),
                plans=plan_table(),
            )
            db.session.commit()
        except BotError as exc:
            refuse(form, exc)
        else:
            flash("Settings saved.", "success")
            return redirect(url_for("bots.detail", bot_id=bot.id))
    return render_template("bots/edit.html", bot=bot, form=form)


@bp.route("/<int:bot_id>/keys", methods=["GET", "POST"])
@limiter.shared_limit(
    key_check_limit,
    KEY_CHECK_SCOPE,
    key_func=limit_key,
    methods=["POST"],
    exempt_when=not_a_key_test,
)
def keys(bot_id: int):
    """Replace a real-exchange bot's key and secret; the old ones are never shown."""
    bot = bots_web.owned_bot(db.session, current_user, bot_id)
    if bot.exchange == "paper":
        flash("A paper bot trades a simulated account and has no keys.", "info")
        return redirect(url_for("bots.detail", bot_id=bot.id))
    form = KeysForm()
    report = None
    if form.validate_on_submit():
        if form.test.data:
            report = check_typed_keys(
                bot.exchange, bot.testnet, form.api_key.data, form.api_secret.data
            )
        elif not refuse_key(
            form,
            check := key_permissions(
                bot.exchange, bot.testnet, form.api_key.data, form.api_secret.data
            ),
        ):
            try:
                bots_web.replace_bot_keys(
                    db.session,
                    current_user,
                    bot.id,
                    form.api_key.data,
                    form.api_secret.data,
                    ring=key_ring(),
                    ip=client_ip(),
                    key_check=check.as_dict() if check else None,
                )
                db.session.commit()
            except BotError as exc:
                refuse(form, exc)
            else:
                current_app.logger.info(
                    "keys of bot %s replaced by user %s", bot.id, current_user.id
                )
                flash("New keys saved.", "success")
                return redirect(url_for("bots.detail", bot_id=bot.id))
    try:
        hints = bots_web.key_hints(bot, key_ring())
    except BotError:
        hints = None
    return render_template("bots/keys.html", bot=bot, form=form, hints=hints, report=report)


@bp.route("/<int:bot_id>/test-connection", methods=["POST"])
@limiter.shared_limit(key_check_limit, KEY_CHECK_SCOPE, key_func=limit_key)
def test_connection(bot_id: int):
    """Test the stored keys by reading the balance."""
    bot = bots_web.owned_bot(db.session, current_user, bot_id)
    if ActionForm().validate_on_submit():
        try:
            bot, key, secret = bots_web.stored_credentials(
                db.session, current_user, bot.id, key_ring()
            )
            report = check_typed_keys(bot.exchange, bot.testnet, key, secret)
            if report.key_check is not None:
                bots_web.record_key_check(
                    db.session, current_user, bot.id, report.key_check.as_dict()
                )
                db.session.commit()
            report_flash(report)
        except BotError as exc:
            flash(exc.message, "error")
    return redirect(url_for("bots.detail", bot_id=bot.id))


@bp.route("/<int:bot_id>/delete", methods=["GET", "POST"])
def delete(bot_id: int):
    """Ask, then delete the bot with its pairs and history."""
    bot = bots_web.owned_bot(db.session, current_user, bot_id)
    form = ActionForm()
    if form.validate_on_submit():
        name = bot.name
        bots_web.delete_user_bot(db.session, current_user, bot.id, ip=client_ip())
        db.session.commit()
        sync_cron()
        flash(f"Bot {name!r} deleted.", "success")
        return redirect(url_for("bots.index"))
    return render_template("bots/delete.html", bot=bot, form=form)


def _lifecycle(bot_id: int, service, done: str):
    """Run a start / pause / stop service on a POST and go back to the bot."""
    bot = bots_web.owned_bot(db.session, current_user, bot_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        service(db.session, current_user, bot.id, now=now(), ip=client_ip())
        db.session.commit()
    except BotError as exc:
        refuse(None, exc)
    else:
        sync_cron()
        current_app.logger.info("bot %s: %s (user %s)", bot_id, done, current_user.id)
        flash(done, "success")
    return redirect(url_for("bots.detail", bot_id=bot_id))


@bp.route("/<int:bot_id>/start", methods=["POST"])
def start(bot_id: int):
    """Start (or resume) the bot."""
    table = plan_table()

    def service(session, user, bot_id, **kwargs):
        return bots_web.start_user_bot(session, user, bot_id, plans=table, **kwargs)

    return _lifecycle(bot_id, service, "Bot started; it runs at its next slot.")


@bp.route("/<int:bot_id>/pause", methods=["POST"])
def pause(bot_id: int):
    """Pause the bot."""
    return _lifecycle(bot_id, bots_web.pause_user_bot, "Bot paused.")


@bp.route("/<int:bot_id>/stop", methods=["POST"])
def stop(bot_id: int):
    """Stop the bot."""
    return _lifecycle(bot_id, bots_web.stop_user_bot, "Bot stopped.")
