"""The plan table: defaults, the operator's plans file, price settings, and what a plan allows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from saas.models import User
from saas.plans import (
    DEFAULT_PLANS,
    BotFacts,
    PlanConfigError,
    bots_over_limit,
    effective_plan,
    limits_for,
    load_plans,
    parse_plans,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def plans():
    """The built-in plans with every Stripe price id set."""
    return parse_plans(
        DEFAULT_PLANS,
        {
            "STRIPE_PRICE_STARTER_MONTHLY": "price_sm",
            "STRIPE_PRICE_PRO_MONTHLY": "price_pm",
            "STRIPE_PRICE_PRO_YEARLY": "price_py",
            "STRIPE_PRICE_ENTERPRISE_YEARLY": "price_ey",
        },
    )


def test_the_defaults_are_the_seeds_plans(plans):
    assert list(plans) == ["free", "starter", "pro", "enterprise"]
    free, starter, pro, enterprise = plans.values()
    assert (free.max_bots, free.max_pairs, free.mainnet, free.is_paid) == (1, 3, False, False)
    assert (starter.max_bots, starter.max_pairs, starter.mainnet) == (1, 3, False)
    assert [(p.interval, p.amount) for p in starter.prices] == [
        ("month", Decimal(29)),
        ("year", Decimal(290)),
    ]
    assert (pro.max_bots, pro.max_pairs, pro.mainnet, pro.telegram, pro.webhooks) == (
        5,
        10,
        True,
        True,
        False,
    )
    assert [p.amount for p in pro.prices] == [Decimal(79), Decimal(790)]
    assert (enterprise.max_bots, enterprise.max_pairs, enterprise.webhooks) == (20, None, True)
    assert [p.amount for p in enterprise.prices] == [Decimal(199), Decimal(1990)]


def test_price_ids_come_from_settings_and_map_back_to_their_plan(plans):
    assert plans["pro"].price("year").stripe_price_id == "price_py"
    assert plans["pro"].purchasable("month") and not plans["starter"].purchasable("year")
    plan, price = plans.by_price_id("price_ey")
    assert (plan.key, price.interval) == ("enterprise", "year")
    assert plans.by_price_id("price_unknown") is None and plans.by_price_id(None) is None


def test_the_limits_table_is_what_the_bots_pages_read(plans):
    table = plans.limits_table()
    assert table["starter"] == {"max_bots": 1, "max_pairs": 3, "mainnet": False}
    assert table["pro"] == {"max_bots": 5, "max_pairs": 10, "mainnet": True}
    assert table["enterprise"]["max_pairs"] >= 1_000_000  # unlimited, as a number


def test_a_plans_file_replaces_the_defaults_and_a_setting_overrides_its_price_id(tmp_path):
    path = tmp_path / "plans.json"
    path.write_text(
        json.dumps(
            {
                "free": {"name": "Hobby", "max_bots": 2, "max_pairs": 1},
                "team": {
                    "name": "Team",
                    "max_bots": 8,
                    "max_pairs": None,
                    "mainnet": True,
                    "prices": {
                        "month": "49.50",
                        "currency": "EUR",
                        "stripe_price_ids": {"month": "price_file"},
                    },
                },
            }
        )
    )
    plans = load_plans({"PLANS_FILE": str(path)})
    assert plans.free.name == "Hobby" and plans.free.max_bots == 2
    team = plans["team"].price("month")
    assert (team.amount, team.currency, team.stripe_price_id) == (
        Decimal("49.50"),
        "eur",
        "price_file",
    )
    overridden = load_plans({"PLANS_FILE": str(path), "STRIPE_PRICE_TEAM_MONTHLY": "price_env"})
    assert overridden["team"].price("month").stripe_price_id == "price_env"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"pro": {"max_bots": 1, "max_pairs": 1}}, "must include a 'free' plan"),
        ([], "expected a JSON object"),
        ({"free": {"max_bots": -1, "max_pairs": 1}}, "max_bots must be a whole number"),
        ({"free": {"max_bots": 1, "max_pairs": "3"}}, "max_pairs must be a whole number"),
        ({"free": {"max_bots": True, "max_pairs": 3}}, "max_bots must be a whole number"),
        ({"free": {"max_bots": 1, "max_pairs": 3, "mainnet": "yes"}}, "mainnet must be true"),
        (
            {"free": {"max_bots": 1, "max_pairs": 3, "prices": {"month": "5"}}},
            "free plan cannot have prices",
        ),
        (
            {
                "free": {"max_bots": 1, "max_pairs": 3},
                "pro": {"max_bots": 1, "max_pairs": 3, "prices": {"month": 9.99}},
            },
            "must be a string",
        ),
        (
            {
                "free": {"max_bots": 1, "max_pairs": 3},
                "pro": {"max_bots": 1, "max_pairs": 3, "prices": {"month": "0"}},
            },
            "must be above 0",
        ),
        (
            {
                "free": {"max_bots": 1, "max_pairs": 3},
                "pro": {"max_bots": 1, "max_pairs": 3, "prices": {"week": "5"}},
            },
            "unknown price field",
        ),
        (
            {"free": {"max_bots": 1, "max_pairs": 3}, "Pro Plan": {"max_bots": 1, "max_pairs": 3}},
            "must be lower-case",
        ),
    ],
)
def test_a_broken_plans_file_is_refused_with_a_readable_reason(data, message):
    with pytest.raises(PlanConfigError, match=message):
        parse_plans(data, source="plans.json")


def test_an_unreadable_plans_file_names_itself(tmp_path):
    path = tmp_path / "plans.json"
    path.write_text("{not json")
    with pytest.raises(PlanConfigError, match="PLANS_FILE .*plans.json"):
        load_plans({"PLANS_FILE": str(path)})
    with pytest.raises(PlanConfigError, match="PLANS_FILE"):
        load_plans({"PLANS_FILE": str(tmp_path / "missing.json")})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"plan": "pro"}, "pro"),  # set by an administrator: no Stripe status
        ({"plan": "pro", "plan_status": "active"}, "pro"),
        ({"plan": "pro", "plan_status": "trialing"}, "pro"),
        (
            {"plan": "pro", "plan_status": "past_due", "plan_grace_until": NOW + timedelta(days=1)},
            "pro",
        ),
        ({"plan": "pro", "plan_status": "past_due", "plan_grace_until": NOW}, "free"),
        ({"plan": "pro", "plan_status": "canceled"}, "free"),
        ({"plan": "pro", "plan_status": "unpaid"}, "free"),
        ({"plan": "pro", "plan_status": "incomplete"}, "free"),
        ({"plan": "platinum"}, "free"),  # no longer in the table
        ({"plan": "free", "plan_status": "active"}, "free"),
    ],
)
def test_the_effective_plan(plans, fields, expected):
    assert effective_plan(User(**fields), plans, NOW).key == expected


def test_limits_name_the_effective_plan(plans):
    limits = limits_for(User(plan="enterprise", plan_status="active"), plans, NOW)
    assert (limits.plan, limits.max_bots, limits.max_pairs, limits.webhooks) == (
        "enterprise",
        20,
        None,
        True,
    )
    assert limits.allows_pairs(10_000)
    assert not limits_for(User(plan="starter"), plans, NOW).allows_pairs(4)


def bot(bot_id, *, exchange="paper", testnet=True, running=True, pairs=1):
    """A bot as the limits see it."""
    return BotFacts(bot_id, exchange, testnet, running, pairs)


def test_the_oldest_running_bots_are_kept_and_the_rest_refused(plans):
    limits = limits_for(User(plan="free"), plans, NOW)
    refused = bots_over_limit(limits, [bot(3), bot(1, running=False), bot(2), bot(4)])
    assert sorted(refused) == [3, 4]
    assert "runs 1 bot at a time" in refused[3]


def test_mainnet_and_too_many_pairs_are_refused_before_counting(plans):
    limits = limits_for(User(plan="starter"), plans, NOW)
    refused = bots_over_limit(
        limits, [bot(1, exchange="bybit", testnet=False), bot(2, pairs=4), bot(3, pairs=3), bot(4)]
    )
    assert refused[1].startswith("the Starter plan trades on testnet and paper only")
    assert "allows 3 active pairs per bot and this bot has 4" in refused[2]
    assert 3 not in refused and "runs 1 bot" in refused[4]


def test_a_plan_that_allows_everything_refuses_nothing(plans):
    limits = limits_for(User(plan="enterprise"), plans, NOW)
    bots = [bot(i, exchange="phemex", testnet=False, pairs=50) for i in range(1, 21)]
    assert bots_over_limit(limits, bots) == {}
