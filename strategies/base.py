"""The strategy interface, its parameter descriptions and the validation every strategy shares."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from strategies.types import Decision, Snapshot

DECIMAL = "decimal"
BOOL = "bool"
CHOICE = "choice"
KINDS = (DECIMAL, BOOL, CHOICE)

# Strings a form or an env file may use for a switch.
_TRUE_WORDS = frozenset({"true", "1", "yes", "on", "t"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off", "f"})


class StrategyParamError(ValueError):
    """A strategy name or parameter that cannot be used; the message names it."""


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """One tunable parameter: what a form needs to show, explain and check it."""

    name: str
    default: Any
    kind: str = DECIMAL
    min: Decimal | None = None
    max: Decimal | None = None
    choices: tuple[str, ...] = ()
    help: str = ""

    def as_dict(self) -> dict:
        """A JSON-safe description (Decimals as strings) for the web app and the API."""
        return {
            "name": self.name,
            "default": _json_value(self.default),
            "kind": self.kind,
            "min": _json_value(self.min),
            "max": _json_value(self.max),
            "choices": list(self.choices),
            "help": self.help,
        }

    def coerce(self, value: Any) -> Any:
        """The value converted to this parameter's type and checked, or StrategyParamError."""
        if self.kind == BOOL:
            return self._coerce_bool(value)
        if self.kind == CHOICE:
            return self._coerce_choice(value)
        return self._coerce_decimal(value)

    def _coerce_decimal(self, value: Any) -> Decimal:
        """A number from int, float, str or Decimal, via str() so floats keep their short form."""
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise StrategyParamError(
                f"strategy parameter '{self.name}' must be a number, got {value!r}"
            )
        try:
            number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        except InvalidOperation:
            raise StrategyParamError(
                f"strategy parameter '{self.name}' must be a number, got {value!r}"
            ) from None
        if not number.is_finite():
            raise StrategyParamError(
                f"strategy parameter '{self.name}' must be a finite number, got {value!r}"
            )
        if (self.min is not None and number < self.min) or (
            self.max is not None and number > self.max
        ):
            raise StrategyParamError(
                f"strategy parameter '{self.name}' must be between {self.min} and {self.max}, "
                f"got {value}"
            )
        return number

    def _coerce_bool(self, value: Any) -> bool:
        """A switch from a bool, 0/1 or a word such as "true" / "off"."""
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE_WORDS:
                return True
            if word in _FALSE_WORDS:
                return False
        raise StrategyParamError(
            f"strategy parameter '{self.name}' must be true or false, got {value!r}"
        )

    def _coerce_choice(self, value: Any) -> str:
        """One of the listed words (case-insensitive, surrounding spaces ignored)."""
        word = value.strip().lower() if isinstance(value, str) else None
        if word not in self.choices:
            options = ", ".join(repr(choice) for choice in self.choices)
            raise StrategyParamError(
                f"strategy parameter '{self.name}' must be one of {options}, got {value!r}"
            )
        return word


def _json_value(value: Any) -> Any:
    """Decimals become strings so JSON keeps every digit; other values pass through."""
    return str(value) if isinstance(value, Decimal) else value


class Strategy(ABC):
    """A pure decision function over a Snapshot, configured by validated parameters."""

    name: ClassVar[str] = "strategy"
    PARAMS: ClassVar[tuple[ParamInfo, ...]] = ()

    def __init__(self, params: Mapping | None = None):
        self.params: dict[str, Any] = self.validate_params(params)

    @classmethod
    def describe_params(cls) -> list[ParamInfo]:
        """Every parameter with its default, range and explanation, in display order."""
        return list(cls.PARAMS)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The parameter values used when nothing is overridden."""
        return {info.name: info.default for info in cls.PARAMS}

    @classmethod
    def validate_params(cls, params: Mapping | None) -> dict[str, Any]:
        """Defaults overlaid with the checked, converted overrides; raises StrategyParamError."""
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            raise StrategyParamError(
                f"strategy parameters must be a mapping of name to value, got "
                f"{type(params).__name__}"
            )
        known = {info.name: info for info in cls.PARAMS}
        values = cls.defaults()
        for key, value in params.items():
            info = known.get(key)
            if info is None:
                raise StrategyParamError(
                    f"unknown strategy parameter {key!r} (known: {', '.join(known)})"
                )
            values[key] = info.coerce(value)
        return values

    @abstractmethod
    def decide(self, snapshot: Snapshot) -> Decision:
        """The orders, alerts and conclusion for this snapshot; reads nothing else."""
