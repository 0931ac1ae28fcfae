"""The bots pages through the Flask test client: list, wizard, detail, edit, keys, lifecycle."""

import pytest
from sqlalchemy import select

from saas.models import AuditLog, Bot, BotLog, BotRun
from saas.security import bot_credentials
from tests.fake_exchange import DEFAULT_CREDENTIALS

BYBIT_KEY, BYBIT_SECRET = DEFAULT_CREDENTIALS["bybit"]


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def audit_actions(site) -> list[str]:
    """Every audited action, oldest first."""
    return [row.action for (row,) in site.query(select(AuditLog).order_by(AuditLog.id))]


# -- list --------------------------------------------------------------------------------------


def test_the_list_shows_each_bot_with_status_pairs_and_last_error(site):
    uid = site.user()
    bid = site.bot(uid, name="Scalper", exchange="bybit", last_error="bybit: timeout")
    site.pair(bid)
    page = text(site.client(uid).get("/bots/"))
    assert "Scalper" in page and "stopped" in page and "Bybit testnet" in page
    assert "1 active" in page and "bybit: timeout" in page
    assert f'href="/bots/{bid}"' in page


def test_the_list_shows_only_the_users_own_bots(site):
    me, other = site.user(), site.user()
    site.bot(other, name="Not mine")
    page = text(site.client(me).get("/bots/"))
    assert "Not mine" not in page and "no bots yet" in page


@pytest.mark.parametrize("path", ["/bots/", "/bots/new"])
def test_anonymous_visitors_are_sent_to_the_login_page(site, path):
    response = site.client().get(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_json_callers_get_a_401_instead_of_a_redirect(site):
    response = site.client().post("/bots/check-keys", headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.get_json()["status"] == 401


def test_a_post_without_its_csrf_token_is_refused(site):
    uid = site.user()
    bid = site.bot(uid)
    site.pair(bid)
    response = site.client(uid).post(f"/bots/{bid}/start", csrf=False)
    assert response.status_code == 400
    assert site.get(Bot, bid).status == "stopped"


# -- create (wizard step 1) --------------------------------------------------------------------


def test_creating_a_paper_bot_leads_to_its_first_pair(site):
    uid = site.user()
    response = site.client(uid).post("/bots/new", data={"name": "Paper", "exchange": "paper"})
    [(bot,)] = site.query(select(Bot))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/bots/{bot.id}/pairs/new?wizard=1")
    assert (bot.name, bot.exchange, bot.testnet, bot.status) == ("Paper", "paper", False, "stopped")
    assert audit_actions(site) == ["bot.create"]


def test_creating_a_bybit_bot_stores_its_keys_encrypted(site):
    uid = site.user()
    site.client(uid).post(
        "/bots/new",
        data={
            "name": "Live",
            "exchange": "bybit",
            "testnet": "y",
            "api_key": BYBIT_KEY,
            "api_secret": BYBIT_SECRET,
        },
    )
    [(bot,)] = site.query(select(Bot))
    assert bot.testnet and bot_credentials(bot, site.ring) == (BYBIT_KEY, BYBIT_SECRET)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "", "exchange": "paper"}, "This field is required."),
        ({"name": "x" * 101, "exchange": "paper"}, "Field cannot be longer than 100"),
        ({"name": "b", "exchange": "binance"}, "Not a valid choice"),
        (
            {"name": "b", "exchange": "bybit", "testnet": "y", "api_secret": "s"},
            "A Bybit bot needs its API key.",
        ),
        (
            {"name": "b", "exchange": "phemex", "testnet": "y", "api_key": "k"},
            "A Phemex bot needs its API secret.",
        ),
        (
            {"name": "b", "exchange": "bybit", "api_key": "k", "api_secret": "s"},
            "free plan trades on testnet and paper only",
        ),
    ],
)
def test_a_bad_bot_form_is_shown_again_with_the_reason(site, form, message):
    uid = site.user()
    response = site.client(uid).post("/bots/new", data=form)
    assert response.status_code == 200 and message in text(response)
    assert site.query(select(Bot)) == []


def test_a_second_bot_on_the_free_plan_is_refused_with_the_plan_message(site):
    uid = site.user()
    site.bot(uid)
    response = site.client(uid).post("/bots/new", data={"name": "two", "exchange": "paper"})
    assert "free plan allows 1 bot and you have 1" in text(response)
    assert len(site.query(select(Bot))) == 1


def test_the_test_button_checks_typed_keys_without_saving_or_showing_them(site):
    uid = site.user()
    response = site.client(uid).post(
        "/bots/new",
        data={
            "name": "Live",
            "exchange": "bybit",
            "testnet": "y",
            "api_key": BYBIT_KEY,
            "api_secret": BYBIT_SECRET,
            "test": "Test connection",
        },
    )
    page = text(response)
    assert "Connected to Bybit testnet" in page and "no IP whitelist" in page
    assert BYBIT_KEY not in page and BYBIT_SECRET not in page
    assert site.query(select(Bot)) == []


def test_the_test_button_reports_a_wrong_key(site):
    uid = site.user()
    response = site.client(uid).post(
        "/bots/new",
        data={
            "name": "Live",
            "exchange": "bybit",
            "testnet": "y",
            "api_key": "WRONG",
            "api_secret": BYBIT_SECRET,
            "test": "Test connection",
        },
    )
    assert "Bybit testnet refused this key" in text(response)


def test_check_keys_answers_json_for_the_script(site):
    uid = site.user()
    client = site.client(uid)
    good = client.post(
        "/bots/check-keys",
        data={
            "exchange": "bybit",
            "testnet": "y",
            "api_key": BYBIT_KEY,
            "api_secret": BYBIT_SECRET,
        },
    )
    assert good.get_json()["ok"] is True and "IP whitelist" in good.get_json()["note"]
    bad = client.post(
        "/bots/check-keys",
        data={"exchange": "bybit", "testnet": "y", "api_key": BYBIT_KEY, "api_secret": "nope"},
    )
    assert bad.get_json()["ok"] is False and "refused this key" in bad.get_json()["message"]


def test_connection_tests_share_one_budget_per_user(site):
    site.app.config["KEY_CHECK_LIMIT"] = "2 per minute"
    uid = site.user(plan="pro")
    bid = site.bot(uid, exchange="bybit")
    client = site.client(uid)
    typed = {"exchange": "bybit", "testnet": "y", "api_key": BYBIT_KEY, "api_secret": BYBIT_SECRET}
    assert client.post("/bots/check-keys", data=typed).status_code == 200
    assert client.post(f"/bots/{bid}/test-connection").status_code == 302
    assert client.post("/bots/new", data=typed | {"name": "x", "test": "1"}).status_code == 429
    assert client.post("/bots/check-keys", data=typed).status_code == 429
    # Saving a bot is not a connection test: the budget does not apply.
    saved = client.post("/bots/new", data={"name": "paper", "exchange": "paper"})
    assert saved.status_code == 302
    # Another user has a budget of their own.
    assert site.client(site.user()).post("/bots/check-keys", data=typed).status_code == 200


# -- detail ------------------------------------------------------------------------------------


def test_the_detail_page_shows_pairs_runs_logs_and_only_the_keys_last_four(site):
    from datetime import UTC, datetime

    uid = site.user()
    bid = site.bot(uid, name="Live", exchange="bybit")
    site.pair(bid, "ETHUSDT", "Short")
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    site.add(
        BotRun(
            bot_id=bid,
            started_at=now,
            outcome="ok",
            duration_ms=420,
            conclusions={"1": "waiting for dip"},
        )
    )
    site.add(BotLog(bot_id=bid, level="warning", message="slow answer", created_at=now))
    page = text(site.client(uid).get(f"/bots/{bid}"))
    assert "ETHUSDT Short" in page and "waiting for dip" in page and "420 ms" in page
    assert "slow answer" in page
    assert f"key …{BYBIT_KEY[-4:]}" in page and f"…{BYBIT_SECRET[-4:]}" not in page
    assert BYBIT_KEY not in page and BYBIT_SECRET not in page


def test_a_missing_bot_is_a_404(site):
    assert site.client(site.user()).get("/bots/999").status_code == 404


# -- edit --------------------------------------------------------------------------------------


def test_editing_saves_and_audits_before_and_after(site):
    uid = site.user()
    bid = site.bot(uid, name="Old")
    response = site.client(uid).post(
        f"/bots/{bid}/edit", data={"name": "New", "testnet": "y", "run_interval_minutes": "15"}
    )
    assert response.status_code == 302
    bot = site.get(Bot, bid)
    assert (bot.name, bot.run_interval_minutes) == ("New", 15)
    [(row,)] = site.query(select(AuditLog).where(AuditLog.action == "bot.update"))
    assert (row.before["name"], row.after["name"]) == ("Old", "New")


def test_the_edit_form_starts_with_the_current_values(site):
    uid = site.user()
    bid = site.bot(uid, name="Mine", run_interval_minutes=30)
    page = text(site.client(uid).get(f"/bots/{bid}/edit"))
    assert 'value="Mine"' in page and 'value="30"' in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "", "run_interval_minutes": "5"}, "This field is required."),
        ({"name": "n", "run_interval_minutes": "0"}, "Number must be between 1 and 1440"),
        ({"name": "n", "run_interval_minutes": "soon"}, "Enter a whole number."),
        ({"name": "Taken", "run_interval_minutes": "5"}, "already have a bot called"),
        ({"name": "n", "run_interval_minutes": "5"}, "testnet and paper only"),
    ],
)
def test_bad_settings_are_shown_again_with_the_reason(site, form, message):
    uid = site.user(plan="pro", plan_status="canceled")
    site.bot(uid, name="Taken")
    bid = site.bot(uid, name="Mine", exchange="bybit")
    response = site.client(uid).post(f"/bots/{bid}/edit", data=form)
    assert response.status_code == 200 and message in text(response)
    assert site.get(Bot, bid).name == "Mine"


# -- keys --------------------------------------------------------------------------------------


def test_replacing_keys_stores_the_new_ones_and_never_shows_them(site):
    uid = site.user()
    bid = site.bot(uid, exchange="bybit")
    client = site.client(uid)
    response = client.post(
        f"/bots/{bid}/keys",
        data={"api_key": "REPLACED-KEY-7777", "api_secret": "REPLACED-SECRET-8888"},
    )
    assert response.status_code == 302
    assert bot_credentials(site.get(Bot, bid), site.ring) == (
        "REPLACED-KEY-7777",
        "REPLACED-SECRET-8888",
    )
    page = text(client.get(f"/bots/{bid}/keys"))
    assert "…7777" in page and "…8888" not in page and "REPLACED-" not in page
    assert audit_actions(site) == ["bot.keys_replaced"]


def test_the_keys_form_needs_both_and_never_fills_them_back_in(site):
    uid = site.user()
    bid = site.bot(uid, exchange="bybit")
    response = site.client(uid).post(f"/bots/{bid}/keys", data={"api_key": "HALF-KEY-1"})
    page = text(response)
    assert response.status_code == 200 and "This field is required." in page
    assert "HALF-KEY-1" not in page
    assert bot_credentials(site.get(Bot, bid), site.ring) == (BYBIT_KEY, BYBIT_SECRET)


def test_a_paper_bot_has_no_keys_page(site):
    uid = site.user()
    bid = site.bot(uid)
    response = site.client(uid).get(f"/bots/{bid}/keys")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/bots/{bid}")


def test_testing_the_stored_keys_flashes_the_outcome(site, seeded_exchange):
    uid = site.user()
    good = site.bot(uid, exchange="bybit", name="good")
    client = site.client(uid)
    page = text(client.post(f"/bots/{good}/test-connection", follow_redirects=True))
    assert "Connected to Bybit testnet" in page and "no IP whitelist" in page
    site.app.config["BYBIT_BASE_URL"] = "http://127.0.0.1:9"
    page = text(client.post(f"/bots/{good}/test-connection", follow_redirects=True))
    assert "Could not reach Bybit testnet" in page


# -- lifecycle ---------------------------------------------------------------------------------


def test_start_pause_resume_stop(site):
    uid = site.user()
    bid = site.bot(uid)
    site.pair(bid)
    client = site.client(uid)
    page = text(client.post(f"/bots/{bid}/start", follow_redirects=True))
    assert "Bot started" in page and site.get(Bot, bid).status == "running"
    assert site.get(Bot, bid).next_run_at is not None
    client.post(f"/bots/{bid}/pause")
    assert site.get(Bot, bid).status == "paused"
    assert "Resume" in text(client.get(f"/bots/{bid}"))
    client.post(f"/bots/{bid}/start")
    client.post(f"/bots/{bid}/stop")
    assert site.get(Bot, bid).status == "stopped"
    assert audit_actions(site) == ["bot.start", "bot.pause", "bot.start", "bot.stop"]


def test_a_bot_without_a_pair_does_not_start_and_says_why(site):
    uid = site.user()
    bid = site.bot(uid)
    page = text(site.client(uid).post(f"/bots/{bid}/start", follow_redirects=True))
    assert "Add an active trading pair before starting the bot." in page
    assert site.get(Bot, bid).status == "stopped" and audit_actions(site) == []


def test_lifecycle_actions_refuse_get(site):
    uid = site.user()
    bid = site.bot(uid)
    client = site.client(uid)
    for action in ("start", "pause", "stop", "test-connection"):
        assert client.get(f"/bots/{bid}/{action}").status_code == 405


# -- delete ------------------------------------------------------------------------------------


def test_delete_asks_first_then_deletes(site):
    uid = site.user()
    bid = site.bot(uid, name="Doomed")
    site.pair(bid)
    client = site.client(uid)
    page = text(client.get(f"/bots/{bid}/delete"))
    assert "Delete Doomed?" in page and "1 trading pair," in page
    assert site.get(Bot, bid) is not None
    response = client.post(f"/bots/{bid}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/bots/")
    assert site.get(Bot, bid) is None
    assert audit_actions(site) == ["bot.delete"]


# -- both databases ----------------------------------------------------------------------------


def test_the_whole_flow_on_both_databases(db_site):
    """Create, add a pair, start, list, refuse a second bot, stop, delete, on both databases."""
    uid = db_site.user()
    client = db_site.client(uid)
    client.post("/bots/new", data={"name": "Both", "exchange": "paper"})
    [(bot,)] = db_site.query(select(Bot))
    client.post(
        f"/bots/{bot.id}/pairs/new",
        data={
            "symbol": "BTCUSDT",
            "side": "Long",
            "leverage": "3",
            "ema_interval": "5",
            "is_active": "y",
            "strategy": "martingale",
            "param_profit_pnl": "0.2",
        },
    )
    client.post(f"/bots/{bot.id}/start")
    assert db_site.get(Bot, bot.id).status == "running"
    page = text(client.get("/bots/"))
    assert "Both" in page and "1 active" in page and "running" in page
    refused = client.post("/bots/new", data={"name": "Second", "exchange": "paper"})
    assert "free plan allows 1 bot" in text(refused)
    client.post(f"/bots/{bot.id}/stop")
    client.post(f"/bots/{bot.id}/delete")
    assert db_site.query(select(Bot)) == []
    assert audit_actions(db_site) == [
        "bot.create",
        "pair.create",
        "bot.start",
        "bot.stop",
        "bot.delete",
    ]
