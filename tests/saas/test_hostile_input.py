"""Every route in app.url_map, walked with hostile values: never a 500.

Path ids, query arguments and form fields each get values that crashed pages before (ids out
of range, unicode digits, sNaN, Infinity, 1e999999999, "[" * 50000) and the usual suspects.
The walk runs logged in as an administrator who owns a bot and a pair, on SQLite and on
PostgreSQL (whose integer ids stop at 2**31 - 1).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from saas import create_app
from saas.config import TestConfig
from tests.fixtures.database import _dispose
from tests.fixtures.web import csrf_token, login, make_user

HOSTILE = [
    "99999999999999999999999",
    "2147483648",
    "-1",
    "0",
    "²",
    "١٢٣",
    "1e999999999",
    "sNaN",
    "-Infinity",
    "[" * 50000,
    '{"a":' * 3000,
    "\x00",
    "../../../etc/passwd",
    "' OR '1'='1",
]
# The query arguments the routes read (the trade filter's others are plain text or choices).
QUERY_NAMES = ("page", "bot", "pair", "start", "next", "wizard")
# What differs between the databases is how far an id may go: PostgreSQL's walk uses these.
ID_HOSTILE = ["99999999999999999999999", "2147483648", "-1", "0", "²"]
# Endpoints that read no query argument and are costly to answer (the metrics page).
NO_QUERY = ("ops.",)
# Strategy parameters are many fields of one kind (numbers as text): the values that matter.
PARAM_PREFIX = "param_"
PARAM_HOSTILE = ["sNaN", "1e999999999", "-Infinity", "[" * 50000]
# Pages for visitors who are not logged in (their forms are walked logged out as well).
ANONYMOUS = ("auth.",)
# Walked last: they end the session or delete what the rest of the walk uses.
LAST = ("bots.delete", "bots.pair_delete", "auth.logout", "account.delete_account")
SKIP = ("static", "dashboard.plotly_js", "dashboard.plotly_stylesheet")


class FormReader(HTMLParser):
    """The fields of a page's forms with the values the page fills in."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "checkbox"):
            self.fields.setdefault(name, attrs.get("value") or "")
        elif tag == "input" and name and "checked" in attrs:
            self.fields.setdefault(name, attrs.get("value") or "y")
        elif tag == "select" and name:
            self._select = name
            self.fields.setdefault(name, "")
        elif (
            tag == "option"
            and self._select
            and ("selected" in attrs or not self.fields[self._select])
        ):
            self.fields[self._select] = attrs.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.setdefault(name, "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


def page_fields(client, url: str) -> dict[str, str]:
    """The form fields on ``url``'s page (none when it is not a page)."""
    response = client.get(url)
    if response.status_code != 200 or "text/html" not in response.content_type:
        return {}
    reader = FormReader()
    reader.feed(response.get_data(as_text=True))
    reader.fields.pop("csrf_token", None)
    return reader.fields


@pytest.fixture
def walker(db_url, encryption_key, tmp_path):
    """(app, ids): an app without rate limits, an admin with a bot and a pair, by id."""
    app = create_app(
        TestConfig(
            {"DATABASE_URL": db_url, "ENCRYPTION_KEY": encryption_key},
            RATELIMIT_ENABLED=False,
            BACKTEST_DATA_DIR=str(tmp_path),
            BACKTEST_REPORT_DIR=str(tmp_path),
            PROPAGATE_EXCEPTIONS=False,
        )
    )
    from saas.extensions import db
    from saas.models import User
    from tests.fixtures.database import gen_bot, gen_pair

    admin = make_user(app, email_verified=True, role="admin")
    with app.app_context():
        bot = gen_bot(db.session, db.session.get(User, admin.id), status="stopped")
        pair = gen_pair(db.session, bot)
        db.session.commit()
        ids = {"user": admin.id, "bot_id": bot.id, "pair_id": pair.id, "backtest_id": 1}
    yield app, ids
    from saas.dashboard.backtest_routes import QUEUE_KEY

    queue = app.extensions.pop(QUEUE_KEY, None)
    if queue is not None:
        queue.shutdown(wait=True)
    _dispose(app)


def url_of(rule, values: dict) -> str:
    """The rule's path with its arguments filled in (quoted)."""
    return re.sub(
        r"<(?:[a-z]+:)?(\w+)>", lambda m: quote(str(values.get(m[1], "x")), safe=""), rule.rule
    )


class Walk:
    """One logged-in client sending hostile values; every 5xx answer noted."""

    def __init__(self, app, ids: dict, full: bool):
        self.client, self.ids, self.full = app.test_client(), ids, full
        self.values = HOSTILE if full else ID_HOSTILE
        self.failures: list[str] = []

    def check(self, response, what: str) -> None:
        """Note a server error."""
        if response.status_code >= 500:
            self.failures.append(f"{response.status_code} {what}")

    def rule(self, rule) -> None:
        """Every hostile value in the rule's path, query and form, logged in afresh."""
        login(self.client, self.ids["user"])
        methods = rule.methods - {"HEAD", "OPTIONS"}
        arguments = {name: self.ids.get(name, "x") for name in rule.arguments}
        for name in rule.arguments:
            for value in self.values:
                url = url_of(rule, {**arguments, name: value})
                for method in methods:
                    self.check(self.client.open(url, method=method), f"{method} {url[:80]}")
        url = url_of(rule, arguments)
        if "GET" in methods and not rule.endpoint.startswith(NO_QUERY):
            self.query(url)
        if "POST" in methods:
            self.form(url, "GET" in methods)
            if rule.endpoint.startswith(ANONYMOUS):
                # Signing in and up answer a logged-in visitor with a redirect: walk them
                # logged out too.
                self.client.delete_cookie("session")
                self.form(url, "GET" in methods)

    def query(self, url: str) -> None:
        """Each query argument the routes read, one at a time."""
        for name in QUERY_NAMES:
            for value in self.values:
                response = self.client.get(url, query_string={name: value})
                self.check(response, f"GET {url}?{name}={value[:20]!r}")

    def form(self, url: str, has_page: bool) -> None:
        """The page's own form values with one field made hostile at a time."""
        token = csrf_token(self.client, url if has_page else "/")
        fields = page_fields(self.client, url) if has_page else {}
        fields = fields or {"name": "x", "email": "a@example.com", "code": "1", "params": "{}"}
        for name in fields if self.full else ():
            for value in PARAM_HOSTILE if name.startswith(PARAM_PREFIX) else HOSTILE:
                data = {**fields, name: value, "csrf_token": token}
                self.check(self.client.post(url, data=data), f"POST {url} {name}={value[:20]!r}")


@pytest.mark.timeout(900)  # a few thousand requests: minutes on a busy machine
def test_no_route_answers_500_to_hostile_values(walker, db_url):
    """Every value on SQLite; PostgreSQL (whose ids stop at 2**31 - 1) walks ids only."""
    app, ids = walker
    walk = Walk(app, ids, full=db_url.startswith("sqlite"))
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in SKIP]
    rules.sort(key=lambda r: LAST.index(r.endpoint) + 1 if r.endpoint in LAST else 0)

    for rule in rules:
        walk.rule(rule)

    assert not walk.failures, "\n".join(walk.failures)
