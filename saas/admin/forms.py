"""Forms of the admin pages: every action is a POST carrying its CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, PasswordField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from saas.auth.forms import valid_email


def _strip(value):
    """Surrounding blanks removed."""
    return value.strip() if isinstance(value, str) else value


class ActionForm(FlaskForm):
    """An empty form: a button that POSTs with its CSRF token."""


class SuspendForm(FlaskForm):
    """Suspend an account; the reason is shown to its owner at login."""

    reason = TextAreaField(
        "Reason (shown to the user)",
        validators=[DataRequired("Give a reason."), Length(max=500)],
        filters=[_strip],
    )
    submit = SubmitField("Suspend")


class PauseForm(FlaskForm):
    """Pause a bot; the reason becomes its last error."""

    reason = StringField("Reason (shown to the owner)", validators=[Length(max=300)])
    submit = SubmitField("Pause")


class DisableTwoFactorForm(FlaskForm):
    """Turn a user's two-factor sign-in off after an identity check."""

    identity_note = TextAreaField(
        "How you checked the user's identity",
        validators=[DataRequired("Say how you checked who asked."), Length(max=500)],
        filters=[_strip],
    )
    confirm_email = StringField("Type the user's e-mail to confirm", filters=[_strip])
    password = PasswordField("Your own password", validators=[DataRequired()])
    submit = SubmitField("Turn two-factor off")


class UserPlanForm(FlaskForm):
    """A plan by hand: with an end date an override, without one the user's plan."""

    plan = SelectField("Plan", choices=[])
    until = DateField("Until (optional: leave empty for a lasting plan)", validators=[Optional()])
    submit = SubmitField("Set plan")


class PlanByEmailForm(FlaskForm):
    """Set a user's plan by their address (the plans page)."""

    email = StringField(
        "User's e-mail",
        validators=[DataRequired("Enter the user's e-mail."), valid_email],
        filters=[_strip],
    )
    plan = SelectField("Plan", choices=[])
    submit = SubmitField("Set plan")
