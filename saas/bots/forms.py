"""Forms of the bots pages; key fields are PasswordFields, so a key is never sent back."""

from __future__ import annotations

from functools import cache

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from config_loader import ALLOWED_EMA_INTERVALS
from saas.models.trading import MAX_LEVERAGE
from saas.services.bots.edit import MAX_INTERVAL_MINUTES, MAX_KEY_LENGTH, MAX_NAME_LENGTH
from saas.services.bots.pairs import param_field
from strategies import DEFAULT_STRATEGY, STRATEGIES
from strategies.base import BOOL, CHOICE

EXCHANGE_CHOICES = [
    SelectChoice("paper", "Paper (simulated)"),
    SelectChoice("bybit", "Bybit"),
    SelectChoice("phemex", "Phemex"),
]
SIDE_CHOICES = [SelectChoice("Long"), SelectChoice("Short")]


def _interval_label(minutes: int) -> str:
    """1 -> "1 minute", 60 -> "1 hour", 1440 -> "1 day"."""
    for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return f"{minutes} minutes"


EMA_CHOICES = [SelectChoice(value, _interval_label(value)) for value in ALLOWED_EMA_INTERVALS]


class ActionForm(FlaskForm):
    """An empty form: POST-only buttons (start, stop, delete) still carry a CSRF token."""


def _key_field(label: str, required: bool) -> PasswordField:
    """A key input that is never filled back in."""
    checks = [DataRequired()] if required else [Optional()]
    return PasswordField(
        label,
        validators=[*checks, Length(max=MAX_KEY_LENGTH)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class BotForm(FlaskForm):
    """Step 1 of the wizard: name, exchange, testnet and (for a real exchange) the keys."""

    name = StringField("Name", validators=[DataRequired(), Length(max=MAX_NAME_LENGTH)])
    exchange = SelectField("Exchange", choices=EXCHANGE_CHOICES, default="paper")
    testnet = BooleanField("Testnet", default=True)
    api_key = _key_field("API key", required=False)
    api_secret = _key_field("API secret", required=False)
    test = SubmitField("Test connection")
    submit = SubmitField("Create bot")


class KeysForm(FlaskForm):
    """New keys for a real-exchange bot."""

    api_key = _key_field("New API key", required=True)
    api_secret = _key_field("New API secret", required=True)
    test = SubmitField("Test connection")
    submit = SubmitField("Save keys")


class KeyCheckForm(FlaskForm):
    """The fields the "test connection" button posts from the create and keys pages."""

    exchange = SelectField("Exchange", choices=EXCHANGE_CHOICES, validate_choice=False)
    testnet = BooleanField("Testnet")
    api_key = _key_field("API key", required=False)
    api_secret = _key_field("API secret", required=False)


class SettingsForm(FlaskForm):
    """A bot's editable settings."""

    name = StringField("Name", validators=[DataRequired(), Length(max=MAX_NAME_LENGTH)])
    testnet = BooleanField("Testnet")
    run_interval_minutes = IntegerField(
        "Run every (minutes)",
        validators=[InputRequired(), NumberRange(min=1, max=MAX_INTERVAL_MINUTES)],
    )
    submit = SubmitField("Save")


class PairFormBase(FlaskForm):
    """A trading pair; subclasses add one field per strategy parameter."""

    symbol = StringField(
        "Symbol",
        validators=[DataRequired(), Length(max=32)],
        render_kw={"placeholder": "BTCUSDT", "autocapitalize": "characters"},
    )
    side = SelectField("Side", choices=SIDE_CHOICES, default="Long")
    leverage = DecimalField(
        "Leverage",
        places=None,
        default=10,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_LEVERAGE)],
    )
    ema_interval = SelectField("EMA interval", choices=EMA_CHOICES, coerce=int, default=1)
    margin_mode = SelectField(
        "Margin mode",
        choices=[SelectChoice("cross", "Cross"), SelectChoice("isolated", "Isolated")],
        default="cross",
    )
    automatic_mode = BooleanField("Automatic mode", default=True)
    is_active = BooleanField("Active", default=True)
    strategy = SelectField(
        "Strategy",
        choices=[SelectChoice(name, name.capitalize()) for name in STRATEGIES],
        default=DEFAULT_STRATEGY,
    )
    submit = SubmitField("Save pair")

    param_names: tuple[str, ...] = ()

    def param_values(self) -> dict[str, str]:
        """The strategy parameters as typed, by parameter name (blank: the default)."""
        return {name: (self[param_field(name)].data or "") for name in self.param_names}


def _param_input(info):
    """The form field of one parameter: blank, or a value the strategy checks."""
    label = info.name.replace("_", " ").capitalize()
    if info.kind == BOOL:
        default = "yes" if info.default else "no"
        choices = [
            SelectChoice("", f"Default ({default})"),
            SelectChoice("true", "yes"),
            SelectChoice("false", "no"),
        ]
        return SelectField(label, choices=choices, default="", description=info.help)
    if info.kind == CHOICE:
        choices = [SelectChoice("", f"Default ({info.default})")]
        choices += [SelectChoice(choice) for choice in info.choices]
        return SelectField(label, choices=choices, default="", description=info.help)
    return StringField(
        label,
        default="",
        description=info.help,
        render_kw={"placeholder": f"default {info.default}", "inputmode": "decimal"},
    )


@cache
def pair_form_class(strategy: str) -> type[PairFormBase]:
    """A PairForm with the parameters of ``strategy`` (the default strategy when unknown)."""
    strategy_class = STRATEGIES.get(strategy) or STRATEGIES[DEFAULT_STRATEGY]
    params = strategy_class.describe_params()
    fields = {param_field(info.name): _param_input(info) for info in params}
    fields["param_names"] = tuple(info.name for info in params)
    return type(f"{strategy_class.__name__}PairForm", (PairFormBase,), fields)
