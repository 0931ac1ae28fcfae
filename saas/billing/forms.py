"""Billing forms: checkout and portal buttons carry CSRF tokens."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired, Length

from saas.plans import INTERVALS


class CheckoutForm(FlaskForm):
    """A plan and a billing interval to pay for (the plan is checked against the table)."""

    plan = HiddenField(validators=[DataRequired(), Length(max=32)])
    interval = HiddenField(validators=[AnyOf(INTERVALS, "Choose monthly or yearly billing.")])


class ActionForm(FlaskForm):
    """An empty form: the portal button still carries a CSRF token."""
