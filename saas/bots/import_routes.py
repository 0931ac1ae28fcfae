"""New bot from the single-user bot's `.env`: paste or upload, see what was found, confirm.

Between the preview and the confirmation the text travels sealed (encrypted under
ENCRYPTION_KEY for this user, valid for 15 minutes): the keys are never echoed into the page,
logged, or kept on the server.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from saas.bots import bp
from saas.bots.helpers import client_ip, key_ring, now, plan_table
from saas.extensions import db
from saas.security import DecryptionError
from saas.services.bots.edit import BotError
from saas.services.bots.import_env import (
    MAX_ENV_BYTES,
    ImportEnvError,
    create_imported_bot,
    parse_env,
)

SEAL_SECONDS = 15 * 60


class ImportForm(FlaskForm):
    """The `.env` as text or as a file, and the new bot's name."""

    name = StringField(
        "Name of the new bot",
        default="Imported bot",
        validators=[DataRequired("Give the bot a name."), Length(max=100)],
    )
    env_text = TextAreaField("Paste your .env (or just the SYMBOL=... line and parameters)")
    env_file = FileField("…or upload it")


class ConfirmForm(FlaskForm):
    """The sealed text and the name, carried from the preview to the creation."""

    name = HiddenField()
    sealed = HiddenField()


def _context() -> str:
    """The encryption context of this user's pending import."""
    return f"user:{int(current_user.id)}:import"


def _uploaded_text(form: ImportForm) -> str:
    """The uploaded file's text, else the pasted text."""
    upload = form.env_file.data
    if upload and getattr(upload, "filename", ""):
        raw = upload.read(MAX_ENV_BYTES + 1)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ImportEnvError("The file is not text; upload the .env itself.") from None
    return form.env_text.data or ""


@bp.route("/import", methods=["GET", "POST"])
def import_env():
    """Step 1: read the `.env` and show what it holds, secrets only as "found"."""
    form = ImportForm()
    if form.validate_on_submit():
        try:
            text = _uploaded_text(form)
            found = parse_env(text)
            sealed = key_ring().encrypt(_context(), text)
        except (ImportEnvError, BotError) as exc:
            form.env_text.errors = [*form.env_text.errors, getattr(exc, "message", str(exc))]
        else:
            confirm = ConfirmForm(formdata=None, name=form.name.data, sealed=sealed)
            return render_template(
                "bots/import_preview.html", summary=found.summary(), form=confirm
            )
    status = 400 if form.errors else 200
    return render_template("bots/import.html", form=form), status


@bp.route("/import/confirm", methods=["POST"])
def import_env_confirm():
    """Step 2: create the stopped bot, its pairs and Telegram settings from the sealed text."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("The import form expired; paste the file again.", "error")
        return redirect(url_for("bots.import_env"))
    try:
        ring = key_ring()
        text = ring.decrypt(_context(), form.sealed.data or "", "the import", ttl=SEAL_SECONDS)
        bot = create_imported_bot(
            db.session,
            current_user,
            parse_env(text),
            form.name.data or "Imported bot",
            ring=ring,
            now=now(),
            ip=client_ip(),
            plans=plan_table(),
        )
        db.session.commit()
    except (DecryptionError, ImportEnvError) as exc:
        db.session.rollback()
        flash(f"The import could not be read back ({exc}); paste the file again.", "error")
        return redirect(url_for("bots.import_env"))
    except BotError as exc:
        db.session.rollback()
        flash(f"Nothing was created: {exc.message}", "error")
        return redirect(url_for("bots.import_env"))
    current_app.logger.info("bot %s imported from a .env by user %s", bot.id, current_user.id)
    flash(f"Bot {bot.name!r} created from your .env with {len(bot.pairs)} pair(s).", "success")
    return redirect(url_for("bots.detail", bot_id=bot.id))
