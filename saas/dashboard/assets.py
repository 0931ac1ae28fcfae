"""plotly's JavaScript and its stylesheet, served by the app from the installed plotly package.

No CDN: an offline install works and the strict CSP (script-src 'self'; style-src 'self') holds.
plotly adds its own CSS rules through a <style> element, which that CSP refuses; pages link the
stylesheet built here with ``id="plotly.js-style-global" class="no-inline-styles"``, which tells
plotly the rules are already there. URLs carry plotly.js's version, so they are cached for a year.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import plotly
from flask import Response, abort, send_file

from saas.dashboard import bp

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
ONE_YEAR = 365 * 24 * 3600
CACHE_FOREVER = f"public, max-age={ONE_YEAR}, immutable"
# plotly's built-in rules: an object literal of "selector":"declarations" pairs in plotly.min.js.
_STRING = r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
_PAIR = re.compile(_STRING + r":" + _STRING)
_RULES_START = '"X,X div":'
# Bundled libraries (maplibre) add their CSS at load time unless an element with their id exists.
_INJECTED = re.compile(
    r'getElementById\("([0-9a-f]{64})"\)\)\{var (\w+)=document\.createElement\("style"\);'
    r"\2\.id=\"\1\",\2\.textContent=" + _STRING
)


@cache
def plotly_version() -> str:
    """plotly.js's version, from the banner at the top of the bundled file."""
    with PLOTLY_JS.open(encoding="utf-8") as handle:
        head = handle.read(300)
    found = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", head)
    return found.group(1) if found else "0"


def _unquote(literal: str) -> str:
    """A JavaScript string literal's text (the rules use no escapes beyond quotes)."""
    return literal[1:-1].replace("\\'", "'").replace('\\"', '"')


@cache
def _source() -> str:
    return PLOTLY_JS.read_text(encoding="utf-8")


@cache
def plotly_style_guards() -> tuple[str, ...]:
    """Ids whose presence stops plotly.js's bundled libraries from injecting a <style>."""
    return tuple(match.group(1) for match in _INJECTED.finditer(_source()))


@cache
def plotly_css() -> str:
    """plotly's own CSS rules (.js-plotly-plot, the notifier, bundled maps), as it injects them."""
    source = _source()
    start = source.find(_RULES_START)
    if start < 0:
        return "/* plotly's rules were not found in this plotly.js */\n"
    end = source.find("};", start)
    rules = [_unquote(match.group(3)) for match in _INJECTED.finditer(source)]
    for selector, declarations in _PAIR.findall(source[start:end]):
        full = (
            _unquote(selector)
            .replace("X", ".js-plotly-plot .plotly")
            .replace("Y", ".plotly-notifier")
        )
        if full.startswith(","):
            full = " " + full
        rules.append(f"{full}{{{_unquote(declarations)}}}")
    return "\n".join(rules) + "\n"


@bp.route("/assets/plotly-<version>.min.js")
def plotly_js(version: str):
    """plotly.js from the Python package, cached for a year (the URL changes with it)."""
    if version != plotly_version():
        abort(404)
    response = send_file(PLOTLY_JS, mimetype="text/javascript", max_age=ONE_YEAR)
    response.headers["Cache-Control"] = CACHE_FOREVER
    return response


@bp.route("/assets/plotly-<version>.css")
def plotly_stylesheet(version: str):
    """plotly's CSS rules as a stylesheet, so plotly needs no inline <style>."""
    if version != plotly_version():
        abort(404)
    response = Response(plotly_css(), mimetype="text/css")
    response.headers["Cache-Control"] = CACHE_FOREVER
    return response
