"""decide() is a pure function of its snapshot: no clock, no I/O, no logging, no hidden state."""

from __future__ import annotations

import ast
import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

import strategies
from strategies import get_strategy
from tests.strategies.factories import position, snapshot

PACKAGE = Path(strategies.__file__).parent
# Everything a strategy may import: the standard library's pure parts, numpy and its own package
# (DESIGN.md: strategies import nothing else of the project).
ALLOWED_IMPORTS = {
    "__future__", "abc", "collections", "dataclasses", "datetime", "decimal", "enum", "math",
    "typing", "numpy", "strategies",
}  # fmt: skip
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "time_ns"}

SNAPSHOTS = {
    "waiting": snapshot(ema100_1h=95.0),
    "open": snapshot(),
    "add": snapshot(position=position("50", "-4"), high=False),
    "alerts": snapshot(decline="CRASH", high=True, position=position("50", "-10", ml="1.4")),
    "reduce": snapshot(position=position("80", "5")),
    "skip": snapshot(position=position("500", "-50", ml="1.9")),
}


def modules():
    """Every source file of the strategies package."""
    return sorted(PACKAGE.glob("*.py"))


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_same_snapshot_gives_the_same_decision(name):
    strategy = get_strategy("martingale")
    first = strategy.decide(SNAPSHOTS[name])
    assert (
        first
        == strategy.decide(SNAPSHOTS[name])
        == get_strategy("martingale").decide(SNAPSHOTS[name])
    )


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_decide_leaves_the_strategy_unchanged(name):
    strategy = get_strategy("martingale")
    before = copy.deepcopy(vars(strategy))
    strategy.decide(SNAPSHOTS[name])
    assert vars(strategy) == before


def test_the_wall_clock_does_not_matter():
    strategy = get_strategy("martingale")
    snap = SNAPSHOTS["alerts"]
    with time_machine.travel(datetime(2001, 1, 1, tzinfo=UTC), tick=False):
        in_2001 = strategy.decide(snap)
    with time_machine.travel(datetime(2041, 6, 30, tzinfo=UTC), tick=False):
        in_2041 = strategy.decide(snap)
    assert in_2001 == in_2041


def test_the_martingale_rules_do_not_depend_on_the_time_passed_in():
    strategy = get_strategy("martingale")
    snap = SNAPSHOTS["add"]
    later = snapshot(position=position("50", "-4"))
    object.__setattr__(later, "now", snap.now + timedelta(days=365))
    assert strategy.decide(snap) == strategy.decide(later)


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_no_clock_io_or_logging_imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            allowed = name in ALLOWED_IMPORTS or name.split(".")[0] in ALLOWED_IMPORTS
            assert allowed, f"{path.name} imports {name}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_no_clock_reads(path):
    tree = ast.parse(path.read_text())
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & CLOCK_CALLS, f"{path.name} calls {calls & CLOCK_CALLS}"
    assert "open" not in {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
