"""The backtest form: the period, the pair's settings and the strategy parameters as JSON."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from config_loader import ALLOWED_EMA_INTERVALS
from saas.models.trading import MAX_LEVERAGE
from saas.services.insights.backtests import INTERVALS
from strategies import DEFAULT_STRATEGY, STRATEGIES


def _minutes(value: int) -> str:
    """5 -> "5 minutes", 60 -> "1 hour"."""
    if value % 60 == 0:
        hours = value // 60
        return "1 hour" if hours == 1 else f"{hours} hours"
    return "1 minute" if value == 1 else f"{value} minutes"


class BacktestForm(FlaskForm):
    """What to replay, over which days, with which settings."""

    symbol = StringField(
        "Symbol",
        validators=[DataRequired(), Length(max=32)],
        description="A perpetual contract, like BTCUSDT.",
    )
    side = SelectField("Side", choices=[SelectChoice("Long"), SelectChoice("Short")])
    start = DateField("From (UTC)", validators=[InputRequired()])
    end = DateField("To (UTC, not included)", validators=[InputRequired()])
    balance = DecimalField(
        "Starting balance (USDT)",
        default=1000,
        places=None,
        validators=[InputRequired(), NumberRange(min=1)],
    )
    leverage = DecimalField(
        "Leverage",
        default=10,
        places=None,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_LEVERAGE)],
    )
    interval_minutes = SelectField(
        "Decide every",
        coerce=int,
        default=5,
        choices=[SelectChoice(m, _minutes(m)) for m in INTERVALS],
    )
    margin_mode = SelectField(
        "Margin",
        default="cross",
        choices=[
            SelectChoice("cross", "cross (the exchanges' default)"),
            SelectChoice("isolated", "isolated"),
        ],
    )
    ema_interval = SelectField(
        "EMA50/EMA200 candles",
        default="",
        validators=[Optional()],
        choices=[SelectChoice("", "the data's interval")]
        + [SelectChoice(str(m), _minutes(m)) for m in ALLOWED_EMA_INTERVALS if m <= 1440],
    )
    strategy = SelectField(
        "Strategy", default=DEFAULT_STRATEGY, choices=[SelectChoice(name) for name in STRATEGIES]
    )
    params = TextAreaField(
        "Strategy parameters (JSON)",
        default="{}",
        description='Only what differs from the defaults, e.g. {"profit_pnl": 0.05}.',
    )
    pair_id = HiddenField()
