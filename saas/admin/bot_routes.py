"""Admin views of every bot: the list, one bot's inspection page and the actions on it."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from saas.admin import bp, filters
from saas.admin.access import actor, now, staff_route
from saas.admin.forms import ActionForm, PauseForm
from saas.admin.user_routes import _plans
from saas.extensions import db
from saas.models import BOT_STATUSES, EXCHANGES
from saas.models.bots import RUN_OUTCOMES
from saas.services.admin import bots as admin_bots
from saas.services.admin.accounts import AdminActionError

NETWORKS = (admin_bots.TESTNET, admin_bots.MAINNET, admin_bots.PAPER)


def _bot_or_404(bot_id: int):
    """Any tenant's bot, or a 404."""
    bot = admin_bots.any_bot(db.session, bot_id)
    if bot is None:
        abort(404)
    return bot


@bp.get("/bots")
@staff_route
def bots():
    """Every bot, filtered by status, exchange, network, plan, outcome, lateness, failures."""
    args = request.args
    chosen = admin_bots.BotFilters(
        q=filters.text(args, "q"),
        status=filters.text(args, "status", BOT_STATUSES),
        exchange=filters.text(args, "exchange", EXCHANGES),
        network=filters.text(args, "network", NETWORKS),
        plan=filters.text(args, "plan", set(_plans())),
        outcome=filters.text(args, "outcome", RUN_OUTCOMES),
        overdue=args.get("overdue") == "yes",
        min_failures=filters.number(args, "failures"),
        user_id=filters.object_id(args, "user"),
    )
    page = admin_bots.all_bots(db.session, chosen, now(), filters.page(args))
    return render_template(
        "admin/bots.html",
        page=page,
        f=chosen,
        statuses=BOT_STATUSES,
        exchanges=EXCHANGES,
        networks=NETWORKS,
        outcomes=RUN_OUTCOMES,
        plans=_plans(),
        args=filters.query_without(args, "page"),
    )


@bp.get("/bots/<int:bot_id>")
@staff_route
def bot_detail(bot_id: int):
    """One bot: its runs, logs, the last execution in detail and its open orders."""
    bot = _bot_or_404(bot_id)
    return render_template(
        "admin/bot.html",
        i=admin_bots.inspect_bot(db.session, bot),
        action_form=ActionForm(),
        pause_form=PauseForm(),
    )


def _act(bot_id: int, do, form, message: str):
    """Run one audited bot action and go back to the bot page."""
    bot = _bot_or_404(bot_id)
    if not form.validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(url_for("admin.bot_detail", bot_id=bot.id))
    try:
        do(bot)
    except AdminActionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("admin.bot_detail", bot_id=bot.id))


@bp.post("/bots/<int:bot_id>/stop")
@staff_route
def bot_stop(bot_id: int):
    """Force-stop a bot."""
    return _act(
        bot_id,
        lambda bot: admin_bots.force_stop(db.session, bot, now=now(), actor=actor()),
        ActionForm(),
        "The bot is stopped.",
    )


@bp.post("/bots/<int:bot_id>/pause")
@staff_route
def bot_pause(bot_id: int):
    """Pause a running bot with a reason its owner reads."""
    form = PauseForm()
    return _act(
        bot_id,
        lambda bot: admin_bots.pause(db.session, bot, form.reason.data, now=now(), actor=actor()),
        form,
        "The bot is paused.",
    )


@bp.post("/bots/<int:bot_id>/run-now")
@staff_route
def bot_run_now(bot_id: int):
    """Make a running bot due now."""
    return _act(
        bot_id,
        lambda bot: admin_bots.run_now(db.session, bot, now=now(), actor=actor()),
        ActionForm(),
        "The bot runs at the runner's next pass.",
    )


@bp.post("/bots/<int:bot_id>/clear-error")
@staff_route
def bot_clear_error(bot_id: int):
    """Clear a bot's error; it waits, stopped, for its owner."""
    return _act(
        bot_id,
        lambda bot: admin_bots.clear_error(db.session, bot, now=now(), actor=actor()),
        ActionForm(),
        "The error is cleared; the bot is stopped until its owner starts it.",
    )
