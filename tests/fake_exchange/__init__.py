"""A fake Bybit v5 + Phemex hedged USDT-M exchange on one loopback port, for tests and benchmarks.

Quick start::

    fx = FakeExchange().start()            # free port on 127.0.0.1; fx.url is the base URL
    creds = fx.seed_market("BTCUSDT", price=Decimal("30000"))  # symbol, candles, two accounts
    key, secret = creds["bybit"]           # ("test-bybit-key", "test-bybit-secret")
    client = BybitClient(key, secret, base_url=fx.url, timeout=0.3)
    ...
    fx.stop()

Both dialects share one port: paths under /v5/ are Bybit, everything else is Phemex.

Scripting
- ``add_account(exchange, api_key, api_secret, balance=Decimal, hedged=False)``: accounts start in
  one-way mode, as real ones do, so clients must call their hedge-mode switch.
- ``set_price(symbol, price, bid=None, ask=None)``: lists the symbol if new; the touch is one
  tick either side of the price. Market orders fill at the price; a limit order fills at placement
  when it crosses the touch (as taker, at the price) and later, at its own price (maker), when a
  new price makes the touch cross it. A PostOnly order that would cross is refused (Bybit:
  Cancelled with rejectReason EC_PostOnlyWillTakeLiquidity; Phemex: Rejected).
- ``set_rules(symbol, InstrumentRules)``, ``set_candles(symbol, interval_minutes, [Candle])``;
  without scripted candles a deterministic series around the first price is generated, ending
  with the still-forming candle of the current period.
- ``inject(fault, exchange=None, path=None, method=None, times=1, **options)`` with fault in
  FAULTS: "timeout" (the request takes effect, the answer comes ``delay`` s later, default 2),
  "drop" (takes effect, connection closed unanswered), "5xx" (takes effect unless
  ``process=False``, then HTTP 503), "rate_limit", "duplicate", "bad_key" (refused, nothing done),
  "malformed" (a truncated JSON answer; ``process=True`` lets the request take effect),
  "code" (the exchange's error answer with ``code`` and ``message``; ``process=True`` lets the
  request take effect first, as Bybit's 10000 "server timeout" may).
- ``FakeExchange(latency_ms=50)`` delays every answer (benchmarks).

Inspection
- ``fx.requests``: every request as LoggedRequest(exchange, method, path, query, body, headers,
  status, fault); ``.fields`` merges query and body. ``fx.requests_to(path)`` filters by path.
- ``fx.orders(exchange=None, api_key=None, symbol=None)``, ``fx.position(exchange, key, symbol,
  side)``, ``fx.account(exchange, key)``.

Every signed request is verified over the raw bytes received (Bybit: timestamp + key +
recv_window + query or body, recv window enforced; Phemex: path + query + expiry + body, expiry
enforced) and refused with the exchange's own code. Run standalone with
``python -m tests.fake_exchange --port 8765 [--latency-ms 50]``.
"""

from tests.fake_exchange.server import DEFAULT_CREDENTIALS, FAULTS, FakeExchange, LoggedRequest

__all__ = ["DEFAULT_CREDENTIALS", "FAULTS", "FakeExchange", "LoggedRequest"]
