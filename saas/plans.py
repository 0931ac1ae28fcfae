"""The plan table: what each plan costs and allows, from the operator's plans file or the defaults.

The table is settings, not code: PLANS_FILE (else ``instance/plans.json`` when present) holds a JSON
object of plans in display order, and each paid price names its Stripe price id there or in a
setting such as STRIPE_PRICE_PRO_MONTHLY (the setting wins). Without a file the defaults below
apply. Deciding what a user may do is pure here (``limits_for``, ``bots_over_limit``); the
database side lives in saas.services.billing.subscriptions. Bot processes import this module, so
it stays light.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PLANS_FILE = ROOT / "instance" / "plans.json"
FREE = "free"
INTERVALS = ("month", "year")
INTERVAL_WORDS = {"month": "MONTHLY", "year": "YEARLY"}
# Stripe statuses in which a paid plan still gives its limits (past_due only until its grace ends).
PAID_STATUSES = frozenset({"active", "trialing", "past_due"})
# limits.py's table wants a number; nobody reaches a million pairs on one bot.
UNLIMITED_AS_NUMBER = 1_000_000
FEATURES = ("mainnet", "telegram", "webhooks")

DEFAULT_PLANS: dict = {
    "free": {
        "name": "Free",
        "max_bots": 1,
        "max_pairs": 3,
        "mainnet": False,
        "description": "Try the bot on paper or an exchange testnet.",
    },
    "starter": {
        "name": "Starter",
        "max_bots": 1,
        "max_pairs": 3,
        "mainnet": False,
        "prices": {"month": "29", "year": "290"},
        "description": "One testnet bot with up to three pairs.",
    },
    "pro": {
        "name": "Pro",
        "max_bots": 5,
        "max_pairs": 10,
        "mainnet": True,
        "telegram": True,
        "prices": {"month": "79", "year": "790"},
        "description": "Real money on mainnet, Telegram alerts.",
    },
    "enterprise": {
        "name": "Enterprise",
        "max_bots": 20,
        "max_pairs": None,
        "mainnet": True,
        "telegram": True,
        "webhooks": True,
        "prices": {"month": "199", "year": "1990"},
        "description": "Twenty bots, unlimited pairs, webhooks.",
    },
}


class PlanConfigError(ValueError):
    """The plans file or a price setting cannot be used; one line for the operator."""


@dataclass(frozen=True)
class Price:
    """One way to pay for a plan: an amount per month or per year, and its Stripe price."""

    interval: str
    amount: Decimal
    currency: str
    stripe_price_id: str | None = None


@dataclass(frozen=True)
class Plan:
    """A plan's name, limits, features and prices (no prices: it is free)."""

    key: str
    name: str
    max_bots: int
    max_pairs: int | None  # None: unlimited
    mainnet: bool = False
    telegram: bool = False
    webhooks: bool = False
    description: str = ""
    prices: tuple[Price, ...] = ()

    @property
    def is_paid(self) -> bool:
        """Whether the plan is bought (it has at least one price)."""
        return bool(self.prices)

    def price(self, interval: str) -> Price | None:
        """The price for ``interval`` ("month" or "year"), if the plan has one."""
        return next((p for p in self.prices if p.interval == interval), None)

    def purchasable(self, interval: str) -> bool:
        """Whether Checkout can sell this plan for this interval (a Stripe price is set)."""
        price = self.price(interval)
        return price is not None and bool(price.stripe_price_id)


@dataclass(frozen=True)
class PlanLimits:
    """What a user may do right now (their effective plan); max_pairs None is unlimited."""

    plan: str
    name: str
    max_bots: int
    max_pairs: int | None
    mainnet: bool
    telegram: bool
    webhooks: bool

    def allows_pairs(self, count: int) -> bool:
        """Whether a bot may have ``count`` active pairs."""
        return self.max_pairs is None or count <= self.max_pairs


@dataclass(frozen=True)
class BotFacts:
    """What the limits look at on a bot (pure, so the runner and the web share the rule)."""

    id: int
    exchange: str
    testnet: bool
    running: bool
    active_pairs: int


@dataclass(frozen=True)
class PlanTable(Mapping):
    """Plans by key, in display order; always has a free plan."""

    plans: tuple[Plan, ...]
    source: str = "defaults"
    _by_key: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        self._by_key.update({plan.key: plan for plan in self.plans})
        if FREE not in self._by_key:
            raise PlanConfigError(f"{self.source}: the plans must include a {FREE!r} plan")

    def __getitem__(self, key: str) -> Plan:
        return self._by_key[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    @property
    def free(self) -> Plan:
        """The plan everyone has without paying."""
        return self._by_key[FREE]

    def by_price_id(self, price_id: str | None) -> tuple[Plan, Price] | None:
        """The plan and price a Stripe price id belongs to, if it is one of ours."""
        if not price_id:
            return None
        for plan in self.plans:
            for price in plan.prices:
                if price.stripe_price_id == price_id:
                    return plan, price
        return None

    def limits_table(self) -> dict[str, dict]:
        """The table saas.services.bots.limits reads (app.config["PLAN_LIMITS"])."""
        return {
            plan.key: {
                "max_bots": plan.max_bots,
                "max_pairs": UNLIMITED_AS_NUMBER if plan.max_pairs is None else plan.max_pairs,
                "mainnet": plan.mainnet,
            }
            for plan in self.plans
        }


def _count(source: str, key: str, name: str, value, *, allow_none: bool = False) -> int | None:
    """A whole number >= 0 (or None for unlimited where allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        also = " or null for unlimited" if allow_none else ""
        raise PlanConfigError(f"{source}: plan {key!r}: {name} must be a whole number{also}")
    return value


def _amount(source: str, key: str, interval: str, raw) -> Decimal:
    """A price amount as a Decimal (given as a JSON string or whole number, never a float)."""
    if isinstance(raw, bool) or isinstance(raw, float):
        raise PlanConfigError(
            f'{source}: plan {key!r}: the {interval} price must be a string such as "29.00"'
        )
    try:
        amount = Decimal(str(raw))
    except InvalidOperation:
        raise PlanConfigError(
            f"{source}: plan {key!r}: the {interval} price {raw!r} is not an amount"
        ) from None
    if not amount.is_finite() or amount <= 0:
        raise PlanConfigError(f"{source}: plan {key!r}: the {interval} price must be above 0")
    return amount


def _prices(source: str, key: str, raw: Mapping, env: Mapping[str, str]) -> tuple[Price, ...]:
    """The plan's prices; STRIPE_PRICE_<PLAN>_<MONTHLY|YEARLY> overrides the file's price id."""
    if not isinstance(raw, Mapping):
        raise PlanConfigError(f"{source}: plan {key!r}: prices must be an object")
    ids = raw.get("stripe_price_ids") or {}
    currency = str(raw.get("currency") or "usd").lower()
    prices = []
    for interval in INTERVALS:
        if interval not in raw:
            continue
        setting = f"STRIPE_PRICE_{key.upper()}_{INTERVAL_WORDS[interval]}"
        price_id = (env.get(setting) or "").strip() or ids.get(interval) or None
        prices.append(
            Price(interval, _amount(source, key, interval, raw[interval]), currency, price_id)
        )
    unknown = set(raw) - {*INTERVALS, "currency", "stripe_price_ids"}
    if unknown:
        raise PlanConfigError(f"{source}: plan {key!r}: unknown price field(s) {sorted(unknown)}")
    return tuple(prices)


def _plan(source: str, key: str, raw, env: Mapping[str, str]) -> Plan:
    """One plan of the file, checked."""
    if not isinstance(raw, Mapping):
        raise PlanConfigError(f"{source}: plan {key!r} must be an object")
    if not key.isidentifier() or key != key.lower():
        raise PlanConfigError(f"{source}: plan key {key!r} must be lower-case letters, digits, _")
    for name in FEATURES:
        if not isinstance(raw.get(name, False), bool):
            raise PlanConfigError(f"{source}: plan {key!r}: {name} must be true or false")
    plan = Plan(
        key=key,
        name=str(raw.get("name") or key.title()),
        max_bots=_count(source, key, "max_bots", raw.get("max_bots")),
        max_pairs=_count(source, key, "max_pairs", raw.get("max_pairs"), allow_none=True),
        mainnet=raw.get("mainnet", False),
        telegram=raw.get("telegram", False),
        webhooks=raw.get("webhooks", False),
        description=str(raw.get("description") or ""),
        prices=_prices(source, key, raw.get("prices") or {}, env),
    )
    if key == FREE and plan.prices:
        raise PlanConfigError(f"{source}: the free plan cannot have prices")
    return plan


def parse_plans(data, env: Mapping[str, str] | None = None, source: str = "defaults") -> PlanTable:
    """A PlanTable from the plans file's JSON object (plan key -> plan)."""
    if not isinstance(data, Mapping) or not data:
        raise PlanConfigError(f'{source}: expected a JSON object of plans, e.g. {{"free": ...}}')
    env = env or {}
    return PlanTable(tuple(_plan(source, str(k), v, env) for k, v in data.items()), source)


def plans_path(env: Mapping[str, str]) -> Path | None:
    """PLANS_FILE when set, else instance/plans.json when it exists, else None (the defaults)."""
    raw = (env.get("PLANS_FILE") or "").strip()
    if raw:
        return Path(raw)
    return DEFAULT_PLANS_FILE if DEFAULT_PLANS_FILE.is_file() else None


_cache: dict[tuple, PlanTable] = {}


def load_plans(env: Mapping[str, str] | None = None) -> PlanTable:
    """The plan table for these settings (re-read when the file changes)."""
    env = os.environ if env is None else env
    path = plans_path(env)
    overrides = tuple(sorted((k, v) for k, v in env.items() if k.startswith("STRIPE_PRICE_")))
    stamp = None
    if path is not None:
        try:
            stamp = path.stat().st_mtime_ns
        except OSError as exc:
            raise PlanConfigError(f"PLANS_FILE {path}: {exc.strerror or exc}") from None
    key = (str(path), stamp, overrides)
    if key not in _cache:
        if path is None:
            table = parse_plans(DEFAULT_PLANS, env)
        else:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise PlanConfigError(f"PLANS_FILE {path}: {exc}") from None
            table = parse_plans(data, env, source=str(path))
        _cache.clear()  # one live configuration per process
        _cache[key] = table
    return _cache[key]


def grace_expired(user, now: datetime | None) -> bool:
    """Whether a failed payment's grace period has ended (the plan lapses to free then)."""
    until = getattr(user, "plan_grace_until", None)
    return until is not None and now is not None and until <= now


def plan_override(user, plans: PlanTable, now: datetime | None = None) -> Plan | None:
    """A plan an administrator gave by hand, while it lasts (until its end date, if any)."""
    key = getattr(user, "plan_override", None)
    until = getattr(user, "plan_override_until", None)
    if not key or key not in plans:
        return None
    if until is not None and now is not None and until <= now:
        return None
    return plans[key]


def effective_plan(user, plans: PlanTable, now: datetime | None = None) -> Plan:
    """The plan whose limits apply: an admin's override while it lasts; else unknown, unpaid,
    cancelled or out-of-grace plans are free."""
    override = plan_override(user, plans, now)
    if override is not None:
        return override
    key = (getattr(user, "plan", None) or FREE).strip().lower()
    plan = plans.get(key)
    if plan is None or key == FREE:
        return plans.free
    status = getattr(user, "plan_status", None)
    if status is not None and status not in PAID_STATUSES:
        return plans.free
    if grace_expired(user, now):
        return plans.free
    return plan


def limits_for(user, plans: PlanTable | None = None, now: datetime | None = None) -> PlanLimits:
    """What ``user`` may do at ``now`` under their effective plan."""
    plan = effective_plan(user, plans or load_plans(), now)
    return PlanLimits(
        plan.key,
        plan.name,
        plan.max_bots,
        plan.max_pairs,
        plan.mainnet,
        plan.telegram,
        plan.webhooks,
    )


def is_mainnet(exchange: str, testnet: bool) -> bool:
    """Whether a bot trades real money: a real exchange outside its testnet."""
    return exchange != "paper" and not testnet


def _plural(count: int, word: str) -> str:
    """ "1 bot", "3 bots"."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def bots_over_limit(limits: PlanLimits, bots: Iterable[BotFacts]) -> dict[int, str]:
    """Running bots the plan does not allow, each with the reason its owner reads.

    Bots are kept oldest first: mainnet bots on a testnet-only plan and bots with more active
    pairs than allowed are refused, and of the rest the first ``max_bots`` may run.
    """
    refused: dict[int, str] = {}
    kept = 0
    for bot in sorted(bots, key=lambda b: b.id):
        if not bot.running:
            continue
        if is_mainnet(bot.exchange, bot.testnet) and not limits.mainnet:
            refused[bot.id] = (
                f"the {limits.name} plan trades on testnet and paper only; "
                "upgrade your plan to run this mainnet bot"
            )
        elif not limits.allows_pairs(bot.active_pairs):
            refused[bot.id] = (
                f"the {limits.name} plan allows {_plural(limits.max_pairs, 'active pair')} per "
                f"bot and this bot has {bot.active_pairs}; deactivate some or upgrade your plan"
            )
        elif kept >= limits.max_bots:
            refused[bot.id] = (
                f"the {limits.name} plan runs {_plural(limits.max_bots, 'bot')} at a time; stop "
                "another bot or upgrade your plan, then resume this one"
            )
        else:
            kept += 1
    return refused
