"""The paper exchange of a paper bot, its simulated account kept in ``paper_accounts``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from clients.factory import paper_balance, paper_price_source
from clients.market import PriceSource
from clients.paper import PaperClient, engine_from_dict, engine_to_dict
from clients.paper_engine import PaperEngine
from saas.db import session_scope
from saas.models import PaperAccount


class DatabasePaperClient(PaperClient):
    """PaperClient whose engine is read from the bot's paper account at first use and saved back.

    Reading lazily matters: the client is built before the run takes the bot's lock, and state
    read before another run finished would be stale.
    """

    def __init__(
        self,
        market: PriceSource,
        clock: Callable[[], datetime],
        *,
        sessions: sessionmaker[Session],
        bot_id: int,
        initial_balance: Decimal,
        margin_modes: Mapping[str, str] | None = None,
    ):
        super().__init__(market, clock, engine=PaperEngine(initial_balance))
        self.margin_modes = dict(margin_modes or {})
        self._engine: PaperEngine | None = None
        self.sessions = sessions
        self.bot_id = int(bot_id)
        self.initial_balance = Decimal(initial_balance)
        self._saved: dict | None = None

    @property
    def engine(self) -> PaperEngine:
        """The simulated account, loaded (or opened) on first use."""
        if self._engine is None:
            self._engine = self._load()
            # The pairs' settings say how each symbol is margined (set on the bot page).
            for symbol, mode in self.margin_modes.items():
                if self._engine.mode(symbol) != mode:
                    self._engine.set_mode(symbol, mode)
        return self._engine

    @engine.setter
    def engine(self, value: PaperEngine) -> None:
        self._engine = value

    def _load(self) -> PaperEngine:
        """The saved engine, or a new account with the initial balance."""
        with self.sessions() as session:
            state = session.scalar(
                select(PaperAccount.state).where(PaperAccount.bot_id == self.bot_id)
            )
        if state:
            self._saved = state
            return engine_from_dict(state)
        engine = PaperEngine(self.initial_balance)
        state = engine_to_dict(engine)
        try:
            with session_scope(self.sessions) as session:
                session.add(
                    PaperAccount(
                        bot_id=self.bot_id,
                        initial_balance=self.initial_balance,
                        wallet=engine.wallet,
                        state=state,
                    )
                )
        except IntegrityError:
            return self._load()  # opened by another process a moment ago
        self._saved = state
        return engine

    def save(self) -> None:
        """Write the engine back when it changed since the last write."""
        if self._engine is None:
            return
        state = engine_to_dict(self._engine)
        if state == self._saved:
            return
        with session_scope(self.sessions) as session:
            account = session.scalars(
                select(PaperAccount).where(PaperAccount.bot_id == self.bot_id)
            ).one()
            account.state, account.wallet = state, self._engine.wallet
        self._saved = state


def open_paper_client(
    sessions: sessionmaker[Session],
    bot_id: int,
    env: Mapping[str, str],
    clock: Callable[[], datetime],
    testnet: bool = False,
    margin_modes: Mapping[str, str] | None = None,
) -> DatabasePaperClient:
    """A paper bot's client: prices per PAPER_PRICES; a new account opens with PAPER_BALANCE."""
    return DatabasePaperClient(
        paper_price_source(env, testnet),
        clock,
        sessions=sessions,
        bot_id=bot_id,
        initial_balance=paper_balance(env),
        margin_modes=margin_modes,
    )
