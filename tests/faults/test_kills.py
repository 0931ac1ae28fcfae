"""kill -9 at every step of a run, then a normal run: nothing doubled, every fill booked once."""

from __future__ import annotations

import signal

import pytest

from tests.faults.harness import CREATE, KILL_POINTS, check_books, run


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_a_run_killed_at_any_step_is_completed_by_the_next_run(home, kill_at):
    """Whatever step the first run died at, the second leaves one order, booked exactly once."""
    if kill_at == "in_flight":
        home.fx.inject("timeout", path=CREATE, delay=1.0)  # taken, answer held: killed waiting

    killed = run(home, kill_at=kill_at)
    assert killed.code == -signal.SIGKILL, killed.stderr

    clean = run(home)
    assert clean.code == 0, clean.stderr
    check_books(home)
    sent = [r.body["orderLinkId"] for r in home.fx.requests_to(CREATE)]
    assert len(sent) == len(set(sent)), f"an order id was sent twice: {sent}"


def test_a_run_killed_while_reconciling_is_completed_by_the_next_run(home):
    """Killed after the send, then killed again while looking the order up: still one order."""
    assert run(home, kill_at="after_answer").code == -signal.SIGKILL
    assert run(home, kill_at="during_reconcile").code == -signal.SIGKILL

    clean = run(home)
    assert clean.code == 0, clean.stderr
    check_books(home)
