"""Billing forms: checkout and portal buttons carry CSRF tokens; the admin plan form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import AnyOf, DataRequired, Length

from saas.auth.forms import valid_email
from saas.plans import INTERVALS


class CheckoutForm(FlaskForm):
    """A plan and a billing interval to pay for (the plan is checked against the table)."""

    plan = HiddenField(validators=[DataRequired(), Length(max=32)])
    interval = HiddenField(validators=[AnyOf(INTERVALS, "Choose monthly or yearly billing.")])


class ActionForm(FlaskForm):
    """An empty form: the portal button still carries a CSRF token."""


class PlanForm(FlaskForm):
    """An administrator sets a user's plan by hand."""

    email = StringField(
        "User's e-mail",
        validators=[DataRequired("Enter the user's e-mail."), valid_email],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    plan = SelectField("Plan", choices=[])
    submit = SubmitField("Set plan")
