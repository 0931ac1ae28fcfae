"""Every fault the fake exchange can inject, on every call of a run, then a normal run.

Around the order (the create, its read-back, the booking reads) every fault is tried on every
home. On the other calls, which come before any intent is written, the faults are tried one per
class the client maps them to (clients/http.py: a transient one that reads retry, an unreadable
answer, a refused key, a refused request): the faults of one class take one code path, and each
is mapped fault by fault in tests/clients.
"""

from __future__ import annotations

import pytest

from tests.faults.harness import CREATE, check_books, run

# Each call of a first run, in order, as (path, how many earlier calls to it to let through).
CALLS = [
    ("/v5/market/instruments-info", 0),  # pre-flight: the symbol's rules
    ("/v5/order/realtime", 0),  # reconcile: our open orders, to cancel stale ones
    ("/v5/position/switch-mode", 0),
    ("/v5/position/set-leverage", 0),
    ("/v5/market/kline", 0),
    ("/v5/market/kline", 1),
    ("/v5/market/kline", 2),
    ("/v5/market/tickers", 0),
    ("/v5/position/list", 0),  # the snapshot
    ("/v5/account/wallet-balance", 0),
    (CREATE, 0),
    ("/v5/order/realtime", 1),  # the order read back after the create
    ("/v5/position/list", 1),  # booking the fill
    ("/v5/account/wallet-balance", 1),  # booking the fill
]
FAULTS = {
    "timeout": {"delay": 0.6},
    "drop": {},
    "5xx": {},
    "5xx refused": {"process": False},
    "rate_limit": {},
    "duplicate": {},
    "bad_key": {},
    "malformed": {},
    "malformed accepted": {"process": True},
    "retCode 10000 accepted": {"code": 10000, "message": "Server Timeout", "process": True},
    "retCode 10016 accepted": {"code": 10016, "message": "Server error", "process": True},
    "retCode 10001 refused": {"code": 10001, "message": "params error"},
}


def inject(fx, path: str, skip: int, fault: str) -> None:
    """One fault on one call."""
    options = dict(FAULTS[fault])
    kind = "code" if "code" in options else fault.split()[0]
    fx.inject(kind, path=path, skip=skip, **options)


def faulted_then_clean(home, path: str, skip: int, fault: str):
    """The faulted run, then a normal one; both outcomes."""
    inject(home.fx, path, skip, fault)
    faulted = run(home)
    orders, _ = home.books()
    unsettled = [o.client_order_id for o in orders if o.status in ("pending", "unknown")]
    assert "Traceback" not in faulted.stderr, faulted.stderr
    # Bybit's answer to a symbol it cannot parse is 10001: pre-flight calls that a setting.
    refused_symbol = (path, fault) == ("/v5/market/instruments-info", "retCode 10001 refused")
    assert faulted.code in ((2,) if refused_symbol else (0, 1)), faulted.stderr
    if unsettled:
        assert faulted.code == 1, f"exit 0 with outcomes unknown: {unsettled}"
    assert len(faulted.lines) <= 2, faulted.stderr  # one line per failure, never more
    clean = run(home)
    return faulted, clean


MONEY_CALLS = [
    (CREATE, 0),
    ("/v5/order/realtime", 1),
    ("/v5/position/list", 1),
    ("/v5/account/wallet-balance", 1),
]
OTHER_CALLS = [call for call in CALLS if call not in MONEY_CALLS]
# One fault of each class the client maps faults to (see the module docstring).
CLASS_FAULTS = ["5xx", "malformed", "bad_key", "retCode 10001 refused"]
AROUND_THE_ORDER = [(CREATE, 0, fault) for fault in FAULTS] + [
    (path, skip, fault) for path, skip in MONEY_CALLS[1:] for fault in CLASS_FAULTS
]
AROUND_IDS = [f"{p}#{n}-{f}" for p, n, f in AROUND_THE_ORDER]


@pytest.mark.parametrize(("path", "skip", "fault"), AROUND_THE_ORDER, ids=AROUND_IDS)
def test_any_fault_around_the_order_leaves_the_books_right(standalone_home, path, skip, fault):
    """Whatever the exchange does to the create or the fill's reads, one order, booked once."""
    _, clean = faulted_then_clean(standalone_home, path, skip, fault)
    assert clean.code == 0, clean.stderr
    check_books(standalone_home)


@pytest.mark.parametrize("fault", CLASS_FAULTS[:2])
@pytest.mark.parametrize(("path", "skip"), OTHER_CALLS, ids=[f"{p}#{n}" for p, n in OTHER_CALLS])
def test_a_fault_before_the_order_stops_or_retries_cleanly(standalone_home, path, skip, fault):
    """Before any intent: the run stops (exit 1, one line, nothing written) or retries a read."""
    inject(standalone_home.fx, path, skip, fault)
    faulted = run(standalone_home)
    assert "Traceback" not in faulted.stderr and len(faulted.lines) <= 1, faulted.stderr
    assert faulted.code in (0, 1), faulted.stderr
    check_books(standalone_home, orders_on_exchange=1 if faulted.code == 0 else 0)


@pytest.mark.parametrize("fault", CLASS_FAULTS[2:])
def test_a_refused_key_or_request_before_the_order_stops_the_run(standalone_home, fault):
    """A refused key (or request) on the first signed call: exit 1, one line, nothing sent."""
    inject(standalone_home.fx, "/v5/position/switch-mode", 0, fault)
    faulted = run(standalone_home)
    assert (faulted.code, len(faulted.lines)) == (1, 1), faulted.stderr
    check_books(standalone_home, orders_on_exchange=0)


DB_FAULTS = ["5xx", "retCode 10000 accepted"]
DB_CALLS = [(CREATE, 0), ("/v5/position/list", 1)]


@pytest.mark.parametrize("fault", DB_FAULTS)
@pytest.mark.parametrize(("path", "skip"), DB_CALLS, ids=[f"{p}#{n}" for p, n in DB_CALLS])
def test_faults_around_the_order_leave_the_database_books_right(db_home, path, skip, fault):
    """SQLite and PostgreSQL: an order whose answer was lost, and a fill whose read failed."""
    _, clean = faulted_then_clean(db_home, path, skip, fault)
    assert clean.code == 0, clean.stderr
    check_books(db_home)


@pytest.mark.parametrize("code", [10000, 10016])
def test_bybit_uncertain_codes_leave_the_order_unknown_and_it_is_booked_next_run(
    standalone_home, code
):
    """Bybit may have placed the order after 10000/10016: looked up and booked, not "rejected"."""
    standalone_home.fx.inject("code", path=CREATE, code=code, message="Server error", process=True)
    faulted = run(standalone_home)
    [order] = standalone_home.books()[0]
    assert (faulted.code, order.status) == (1, "unknown"), faulted.stderr
    assert len(standalone_home.fx.orders()) == 1  # the exchange did place it

    assert run(standalone_home).code == 0
    check_books(standalone_home)
    [order] = standalone_home.books()[0]
    assert order.status == "filled"
