"""Run the fake exchange alone: ``python -m tests.fake_exchange --port N [--latency-ms 50]``."""

from __future__ import annotations

import argparse
import signal
import threading
from decimal import Decimal

from tests.fake_exchange import FakeExchange


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted, with the given symbols seeded and the default test accounts."""
    parser = argparse.ArgumentParser(prog="python -m tests.fake_exchange")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--symbol", action="append", default=[], help="SYMBOL=PRICE, repeatable")
    parser.add_argument("--balance", default="10000")
    args = parser.parse_args(argv)
    fx = FakeExchange(args.host, args.port, latency_ms=args.latency_ms).start()
    for item in args.symbol or ["BTCUSDT=30000"]:
        symbol, _, price = item.partition("=")
        credentials = fx.seed_market(symbol, Decimal(price or "30000"), Decimal(args.balance))
    print(f"fake exchange on {fx.url}; accounts: {credentials}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        fx.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
