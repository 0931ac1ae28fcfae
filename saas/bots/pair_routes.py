"""The trading-pair pages of a bot: add (step 2 of the wizard), edit, remove.

Thin views over saas.services.bots.pairs; the blueprint's login check covers them too. A symbol
is checked against the bot's exchange where reachable; unreachable, the pair is saved with a
warning.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from saas.bots import bp
from saas.bots.forms import ActionForm, pair_form_class
from saas.bots.helpers import client_env, client_ip, plan_table, refuse
from saas.extensions import db
from saas.services.bots import edit as bots_web
from saas.services.bots import exchange_checks
from saas.services.bots import pairs as pairs_web
from saas.services.bots.edit import BotError
from saas.services.bots.pairs import PairInput
from strategies import DEFAULT_STRATEGY


def _pair_form(strategy: str | None, **kwargs):
    """The pair form for the posted strategy (or the given one)."""
    chosen = request.form.get("strategy") if request.method == "POST" else strategy
    return pair_form_class(chosen or strategy or DEFAULT_STRATEGY)(**kwargs)


def _pair_input(form, symbol: str, side: str) -> PairInput:
    """The service input of a validated pair form."""
    return PairInput(
        symbol,
        side,
        form.leverage.data,
        form.ema_interval.data,
        form.automatic_mode.data,
        form.is_active.data,
        form.strategy.data,
        form.param_values(),
        form.margin_mode.data,
    )


def _instrument(bot, symbol: str, form):
    """The symbol's rules and a warning; None after putting an unknown symbol on the form."""
    try:
        return exchange_checks.lookup_instrument(
            bot.exchange, symbol, testnet=bot.testnet, env=client_env()
        )
    except exchange_checks.UnknownSymbolError as exc:
        if "symbol" in form:
            form.symbol.errors = [*form.symbol.errors, str(exc)]
            return None
        # An existing pair's symbol the exchange no longer lists: say so, keep the edit.
        return exchange_checks.SymbolCheck(None, str(exc))


@bp.route("/<int:bot_id>/pairs/new", methods=["GET", "POST"])
def pair_create(bot_id: int):
    """Add a trading pair (step 2 of the wizard for a new bot)."""
    bot = bots_web.owned_bot(db.session, current_user, bot_id)
    wizard = request.args.get("wizard") == "1"
    form = _pair_form(None)
    if form.validate_on_submit():
        check = _instrument(bot, form.symbol.data, form)
        if check is not None:
            try:
                pairs_web.add_pair(
                    db.session,
                    current_user,
                    bot.id,
                    _pair_input(form, form.symbol.data, form.side.data),
                    rules=check.rules,
                    ip=client_ip(),
                    plans=plan_table(),
                )
                db.session.commit()
            except BotError as exc:
                refuse(form, exc)
            else:
                if check.warning:
                    flash(check.warning, "warning")
                flash(
                    "Pair added." + (" Start the bot when you are ready." if wizard else ""),
                    "success",
                )
                return redirect(url_for("bots.detail", bot_id=bot.id))
    return render_template(
        "bots/pair_form.html",
        bot=bot,
        form=form,
        pair=None,
        wizard=wizard,
        params=pairs_web.strategy_fields(form.strategy.data),
    )


@bp.route("/<int:bot_id>/pairs/<int:pair_id>/edit", methods=["GET", "POST"])
def pair_edit(bot_id: int, pair_id: int):
    """Change a pair's leverage, interval, modes and strategy parameters."""
    bot, pair = pairs_web.owned_pair(db.session, current_user, bot_id, pair_id)
    form = _pair_form(pair.strategy, obj=pair)
    del form.symbol, form.side  # fixed: they identify the pair's orders and trades
    if request.method == "GET":
        for name, text in pairs_web.param_texts(pair.strategy_params).items():
            field_name = pairs_web.param_field(name)
            if field_name in form:
                form[field_name].data = text
    if form.validate_on_submit():
        check = _instrument(bot, pair.symbol, form)
        try:
            pairs_web.update_pair(
                db.session,
                current_user,
                bot.id,
                pair.id,
                _pair_input(form, pair.symbol, pair.side),
                rules=check.rules,
                ip=client_ip(),
            )
            db.session.commit()
        except BotError as exc:
            refuse(form, exc)
        else:
            if check.warning:
                flash(check.warning, "warning")
            flash("Pair saved.", "success")
            return redirect(url_for("bots.detail", bot_id=bot.id))
    return render_template(
        "bots/pair_form.html",
        bot=bot,
        form=form,
        pair=pair,
        wizard=False,
        params=pairs_web.strategy_fields(form.strategy.data),
    )


@bp.route("/<int:bot_id>/pairs/<int:pair_id>/delete", methods=["GET", "POST"])
def pair_delete(bot_id: int, pair_id: int):
    """Ask, then remove a pair (its orders and trades stay in the history)."""
    bot, pair = pairs_web.owned_pair(db.session, current_user, bot_id, pair_id)
    form = ActionForm()
    if form.validate_on_submit():
        label = f"{pair.symbol} {pair.side}"
        try:
            pairs_web.delete_pair(db.session, current_user, bot.id, pair.id, ip=client_ip())
            db.session.commit()
        except BotError as exc:
            refuse(None, exc)
        else:
            flash(f"Pair {label} removed.", "success")
        return redirect(url_for("bots.detail", bot_id=bot.id))
    return render_template("bots/pair_delete.html", bot=bot, pair=pair, form=form)
