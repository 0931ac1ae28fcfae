"""Pure trading decisions: the strategy registry, the interface and the shared value types."""

from __future__ import annotations

from collections.abc import Mapping

from strategies.base import ParamInfo, Strategy, StrategyParamError
from strategies.martingale import MartingaleStrategy

DEFAULT_STRATEGY = MartingaleStrategy.name

STRATEGIES: dict[str, type[Strategy]] = {
    MartingaleStrategy.name: MartingaleStrategy,
}


def get_strategy(name: str, params: Mapping | None = None) -> Strategy:
    """A configured strategy by registered name; unknown names and bad params raise."""
    strategy_class = STRATEGIES.get(name) if isinstance(name, str) else None
    if strategy_class is None:
        raise StrategyParamError(f"unknown strategy {name!r} (known: {', '.join(STRATEGIES)})")
    return strategy_class(params)


__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "MartingaleStrategy",
    "ParamInfo",
    "Strategy",
    "StrategyParamError",
    "get_strategy",
]
