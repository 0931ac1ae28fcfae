"""plotly served by the app (no CDN) and pages that keep to the strict CSP."""

from __future__ import annotations

import re

import pytest

from saas.dashboard.assets import PLOTLY_JS, plotly_style_guards, plotly_version

PAGES = (
    "/dashboard/",
    "/dashboard/bots/{bot}",
    "/dashboard/trades",
    "/dashboard/analytics",
    "/dashboard/pairs/{pair}/ladder",
    "/dashboard/backtests",
)


def fetch(client, url: str):
    """GET and read the body (closing a streamed file)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def test_plotly_js_comes_from_the_installed_package_cached_for_a_year(dash_sqlite):
    response = fetch(dash_sqlite.client(), f"/dashboard/assets/plotly-{plotly_version()}.min.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.get_data() == PLOTLY_JS.read_bytes()
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert re.fullmatch(r"\d+\.\d+\.\d+", plotly_version())


@pytest.mark.parametrize("suffix", [".min.js", ".css"])
def test_another_version_is_not_found(dash_sqlite, suffix):
    assert fetch(dash_sqlite.client(), f"/dashboard/assets/plotly-0.0.1{suffix}").status_code == 404


def test_plotlys_css_rules_are_a_stylesheet(dash_sqlite):
    response = fetch(dash_sqlite.client(), f"/dashboard/assets/plotly-{plotly_version()}.css")
    css = response.get_data(as_text=True)
    assert response.mimetype == "text/css"
    assert ".js-plotly-plot .plotly .main-svg{position:absolute;" in css
    assert ".plotly-notifier .notifier-close{" in css and ".maplibregl-map{" in css
    assert css.count("{") == css.count("}")


@pytest.fixture
def pages(dash_sqlite):
    """A logged-in client and the dashboard pages' URLs for its bot and pair."""
    uid = dash_sqlite.user()
    bid = dash_sqlite.bot(uid)
    pid = dash_sqlite.pair(bid)
    return dash_sqlite.client(uid), [p.format(bot=bid, pair=pid) for p in PAGES]


def test_pages_have_no_inline_script_or_style(pages):
    client, urls = pages
    for url in urls:
        html = fetch(client, url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert "<style" not in html and not re.search(r"\sstyle=", html), url
        assert "on" + "click=" not in html and "javascript:" not in html, url


def test_pages_tell_plotly_its_styles_are_already_there(pages):
    client, urls = pages
    html = fetch(client, urls[0]).get_data(as_text=True)
    assert re.search(
        r'<link rel="stylesheet" id="plotly\.js-style-global" '
        r'class="no-inline-styles"\s+href="/dashboard/assets/plotly-[\d.]+\.css">',
        html,
    )
    assert plotly_style_guards()
    for guard in plotly_style_guards():
        assert f'<span id="{guard}" hidden></span>' in html
    assert f'<script src="/dashboard/assets/plotly-{plotly_version()}.min.js" defer>' in html
