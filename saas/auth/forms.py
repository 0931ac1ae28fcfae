"""Sign-in forms; each validates its own fields (password rules come from the accounts service)."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from saas.services.accounts.credentials import MAX_PASSWORD_LENGTH, check_new_password
from saas.services.accounts.users import AccountError

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@localhost$")


def valid_email(_form, field) -> None:
    """An address of the form name@domain."""
    value = (field.data or "").strip()
    if len(value) > 255 or not EMAIL_PATTERN.match(value):
        raise ValidationError("Enter a valid e-mail address.")


def strong_password(form, field) -> None:
    """The accounts service's password rules (length, not the e-mail address)."""
    email = getattr(getattr(form, "email", None), "data", "") or ""
    try:
        check_new_password(field.data or "", email)
    except AccountError as exc:
        raise ValidationError(str(exc)) from None


def email_field(label: str = "E-mail") -> StringField:
    """An e-mail input, trimmed."""
    return StringField(
        label,
        validators=[DataRequired("Enter your e-mail address."), valid_email],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        render_kw={"autocomplete": "email", "type": "email", "inputmode": "email"},
    )


def new_password_fields() -> tuple[PasswordField, PasswordField]:
    """A new password and its confirmation."""
    password = PasswordField(
        "New password",
        validators=[DataRequired("Choose a password."), strong_password],
        description="At least 10 characters. A few unrelated words make a good one.",
        render_kw={"autocomplete": "new-password", "maxlength": MAX_PASSWORD_LENGTH},
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", "The two passwords are not the same."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = email_field()
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me logged in on this device")
    next = HiddenField()
    submit = SubmitField("Log in")


class RegisterForm(FlaskForm):
    """A new account."""

    email = email_field()
    password, confirm = new_password_fields()
    submit = SubmitField("Create account")


class ForgotPasswordForm(FlaskForm):
    """Where to send a reset link."""

    email = email_field()
    submit = SubmitField("Send me a link")


class ResetPasswordForm(FlaskForm):
    """A new password from a reset link."""

    password, confirm = new_password_fields()
    submit = SubmitField("Set password")


class TwoFactorForm(FlaskForm):
    """The second step of signing in."""

    code = StringField(
        "Code",
        validators=[DataRequired("Enter the code from your app."), Length(max=32)],
        description="The 6-digit code from your authenticator app, or one of your recovery codes.",
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True},
    )
    submit = SubmitField("Verify")


class ConfirmForm(FlaskForm):
    """No fields: a POST with its CSRF token (confirm an address, resend a mail)."""

    submit = SubmitField("Confirm")
