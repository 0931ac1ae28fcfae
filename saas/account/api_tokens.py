"""Account → API tokens: create one (shown once), see them, revoke one."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from saas.account import bp
from saas.billing.settings import plan_settings
from saas.extensions import db
from saas.models.api_tokens import TOKEN_SCOPES
from saas.plans import load_plans
from saas.services.accounts import api_tokens
from saas.web_security import client_ip


class TokenForm(FlaskForm):
    """A new token: a name, a scope and an optional last day."""

    name = StringField("Name", validators=[DataRequired("Name the token."), Length(max=100)])
    scope = SelectField("Scope", choices=[SelectChoice(s) for s in TOKEN_SCOPES], default="read")
    expires = DateField("Expires after (optional)", validators=[Optional()])
    submit = SubmitField("Create token")


class RevokeForm(FlaskForm):
    """A CSRF-carrying empty form for the revoke button."""


def _access(now: datetime) -> api_tokens.ApiAccess:
    """What the user's plan allows on the API."""
    return api_tokens.api_access(
        current_user,
        now=now,
        plans=load_plans(plan_settings(current_app.config)),
        table=current_app.config.get("API_ACCESS"),
    )


@bp.route("/api-tokens", methods=["GET", "POST"])
@login_required
def api_tokens_page():
    """The user's tokens and the form for a new one; a new token is shown once, here."""
    now = datetime.now(UTC)
    form = TokenForm()
    created = None
    if form.validate_on_submit():
        expires = form.expires.data
        try:
            token, created = api_tokens.create_token(
                db.session,
                current_user,
                form.name.data,
                form.scope.data,
                now=now,
                expires_at=datetime.combine(expires, time.max, UTC) if expires else None,
                access=_access(now),
                ip=client_ip(),
            )
            db.session.commit()
        except api_tokens.TokenError as exc:
            db.session.rollback()
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            form = TokenForm(formdata=None)
    tokens = api_tokens.list_tokens(db.session, current_user, now=now)
    return render_template(
        "account/api_tokens.html",
        form=form,
        tokens=tokens,
        created=created,
        access=_access(now),
        now=now,
        revoke=RevokeForm(),
    ), (400 if form.errors else 200)


@bp.post("/api-tokens/<int:token_id>/revoke")
@login_required
def revoke_api_token(token_id: int):
    """Revoke one of the user's tokens (another user's is a 404)."""
    if not RevokeForm().validate_on_submit():
        flash("The form had expired; nothing was changed.", "error")
        return redirect(url_for("account.api_tokens_page"))
    api_tokens.revoke_token(
        db.session, current_user, token_id, now=datetime.now(UTC), ip=client_ip()
    )
    db.session.commit()
    flash("Token revoked; it no longer works.", "success")
    return redirect(url_for("account.api_tokens_page"))
