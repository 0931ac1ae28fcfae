"""Account forms: every change that matters asks for the current password again."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from saas.auth.forms import email_field, new_password_fields
from saas.services.accounts.credentials import MAX_PASSWORD_LENGTH


def current_password_field(label: str = "Current password") -> PasswordField:
    """The password the user has now (re-authentication)."""
    return PasswordField(
        label,
        validators=[DataRequired("Enter your current password."), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )


def code_field(label: str = "Code from your app") -> StringField:
    """A 6-digit TOTP code (or, where allowed, a recovery code)."""
    return StringField(
        label,
        validators=[DataRequired("Enter the code from your app."), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class ChangePasswordForm(FlaskForm):
    """Current password, then the new one twice."""

    current_password = current_password_field()
    password, confirm = new_password_fields()
    submit = SubmitField("Change password")


class ChangeEmailForm(FlaskForm):
    """A new address, confirmed with the password."""

    email = email_field("New e-mail address")
    current_password = current_password_field()
    submit = SubmitField("Change e-mail address")


class EnableTwoFactorForm(FlaskForm):
    """The first code the app shows after scanning the QR code."""

    code = code_field()
    submit = SubmitField("Turn on two-factor sign-in")


class DisableTwoFactorForm(FlaskForm):
    """Password and a current code (or a recovery code)."""

    current_password = current_password_field()
    code = code_field("Code from your app, or a recovery code")
    submit = SubmitField("Turn off two-factor sign-in")


class PasswordConfirmForm(FlaskForm):
    """Just the password (new recovery codes, log out other devices)."""

    current_password = current_password_field()
    submit = SubmitField("Confirm")


class DeleteAccountForm(FlaskForm):
    """Password and an explicit yes."""

    current_password = current_password_field("Your password")
    understood = BooleanField(
        "I understand that my bots, pairs and trade history are deleted for good.",
        validators=[DataRequired("Tick the box to confirm.")],
    )
    submit = SubmitField("Delete my account")
