"""A scripted market and a ready workflow for trading-workflow tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import numpy as np

from clients.market import PathMarket, _unit_noise
from clients.paper import PaperClient
from clients.paper_engine import PaperEngine
from notifications.base import MemoryNotifier
from strategies import get_strategy
from strategies.types import InstrumentRules
from workflows.journal import FileJournal
from workflows.trading import PairSettings, TradingWorkflow

SYMBOL = "TESTUSDT"
RULES = InstrumentRules(SYMBOL, D("1"), D("1"), D("1000"), D("0.01"), D("5"), D("50"), D("0.005"))
T0 = datetime(2026, 3, 2, tzinfo=UTC)
START_MINUTE = int(T0.timestamp() // 60)
# Minutes after T0 and the price there: flat at 100 for days, a 1 % dip over two hours (the bot
# opens below the hourly EMA100), a slow recovery (it tops up), then a jump of 2.4 % (it reduces
# and closes). Small deterministic noise gives resting orders their fills.
LIFECYCLE = ([-1e9, 0, 120, 240, 300, 400, 405, 600], [100, 100, 99, 99.6, 99.6, 100.6, 103, 103])
# Params that make a 1-contract ladder reach the profit tiers on a 1,000 USDT account.
LIFECYCLE_PARAMS = {"reduce_pct_tier1": "2.5", "buy_until_limit": "0.015"}


def scripted_path(knots=LIFECYCLE, noise=0.0015):
    """A price path through the knots with small per-minute noise."""
    xs, ys = knots

    def path(minutes: np.ndarray) -> np.ndarray:
        t = minutes.astype(np.float64) - START_MINUTE
        return np.interp(t, xs, ys) * (1 + noise * _unit_noise(minutes.astype(np.int64), 7))

    return path


@dataclass
class Rig:
    """A paper exchange on a scripted market, a file journal, a memory notifier and a clock."""

    folder: Path
    knots: tuple = LIFECYCLE
    balance: D = D("1000")
    now: datetime = T0
    pairs: list = field(default_factory=list)
    margin_mode: str = "cross"

    def __post_init__(self):
        market = PathMarket({SYMBOL: scripted_path(self.knots)}, {SYMBOL: RULES}, wick=0.001)
        self.engine = PaperEngine(self.balance, margin_mode=self.margin_mode)
        self.client = PaperClient(market, lambda: self.now, engine=self.engine)
        self.journal = FileJournal(self.folder)
        self.notifier = MemoryNotifier()
        self.workflow = TradingWorkflow(self.client, self.journal, self.notifier, bot_key="1")

    def pair(self, key="1", side="Long", params=None, auto=True) -> PairSettings:
        """A pair on the scripted symbol at 10x with 1-minute EMAs."""
        return PairSettings(
            key,
            SYMBOL,
            side,
            auto,
            D(10),
            1,
            get_strategy("martingale", params or LIFECYCLE_PARAMS),
        )

    def run_at(self, minutes_after_t0: float, pairs=None):
        """One bot run at T0 + minutes."""
        self.now = T0 + timedelta(minutes=minutes_after_t0)
        return self.workflow.run(pairs or self.pairs, self.now)

    def kinds(self) -> list[str]:
        """The notified event kinds, in order."""
        return [event.kind for event in self.notifier.events]
