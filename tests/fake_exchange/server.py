"""The loopback HTTP server of the fake exchange, its request log and its fault injection."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from urllib.parse import parse_qsl

from strategies.types import Candle, InstrumentRules
from tests.fake_exchange import bybit, phemex
from tests.fake_exchange.market import Market
from tests.fake_exchange.state import Account, Engine, Order, PositionState
from tests.fake_exchange.wire import Ctx, Reply

FAULTS = ("timeout", "drop", "5xx", "rate_limit", "duplicate", "bad_key", "malformed", "code")
DIALECTS = {"bybit": bybit, "phemex": phemex}
MALFORMED = b'{"code":0,"retCode":0,"result":{"list":['  # a truncated answer
DEFAULT_CREDENTIALS = {
    "bybit": ("test-bybit-key", "test-bybit-secret"),
    "phemex": ("test-phemex-key", "test-phemex-secret"),
}


@dataclass(frozen=True)
class LoggedRequest:
    """One request as received: parsed query and body, the answer's status and any fault."""

    exchange: str
    method: str
    path: str
    query: dict
    body: dict | None
    headers: dict
    status: int
    fault: str | None

    @property
    def fields(self) -> dict:
        """Query and body fields together."""
        return {**self.query, **(self.body or {})}


@dataclass
class _Fault:
    kind: str
    exchange: str | None
    path: str | None
    method: str | None
    times: int
    options: dict

    def matches(self, exchange: str, method: str, path: str) -> bool:
        return (
            self.times > 0
            and self.exchange in (None, exchange)
            and self.path in (None, path)
            and self.method in (None, method)
        )


class _Server(ThreadingMixIn, HTTPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address, handler, fake: FakeExchange):
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request_thread(self, request, client_address):
        with self.conn_lock:
            self.connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.conn_lock:
                self.connections.discard(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't stall 40 ms
    server: _Server

    def do_GET(self):  # noqa: N802 - the stdlib's naming
        self.server.fake.handle(self)

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format, *args):  # noqa: A002 - quiet: the fake keeps its own log
        return


class FakeExchange:
    """Bybit v5 and Phemex hedged USDT-M endpoints on one loopback port; see the package docs."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency_ms: float = 0,
        clock: Callable[[], float] = time.time,
    ):
        self.host, self.port, self.latency_ms = host, port, latency_ms
        self.market = Market(clock)
        self.engine = Engine(self.market, clock)
        self._faults: list[_Fault] = []
        self._log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Life cycle.
    def start(self) -> FakeExchange:
        """Listen (on a free port unless one was given) and serve in a background thread."""
        self._server = _Server((self.host, self.port), _Handler, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        """Base URL for both clients, e.g. http://127.0.0.1:PORT."""
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        """Stop serving, wake delayed answers, close every connection and join the threads."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        with self._server.conn_lock:
            for conn in list(self._server.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FakeExchange:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # Scripting.
    def add_account(
        self,
        exchange: str,
        api_key: str,
        api_secret: str,
        balance: Decimal = Decimal("10000"),
        *,
        hedged: bool = False,
    ) -> Account:
        """Open an account for a key pair; ``hedged`` puts every listed symbol in hedge mode."""
        account = Account(exchange, api_key, api_secret, Decimal(balance))
        if hedged:
            account.hedged = {symbol: True for symbol in self.market.symbols()}
        with self.engine.lock:
            self.engine.accounts[(exchange, api_key)] = account
        return account

    def set_price(self, symbol: str, price: Decimal, *, bid=None, ask=None) -> None:
        """Script the price (and touch); resting limit orders the touch crosses fill."""
        with self.engine.lock:
            self.market.set_price(symbol, Decimal(price), bid, ask)
            self.engine.match(symbol)

    def set_rules(self, symbol: str, rules: InstrumentRules) -> None:
        """Replace a listed symbol's instrument rules."""
        self.market.set_rules(symbol, rules)

    def set_candles(self, symbol: str, interval_minutes: int, candles: list[Candle]) -> None:
        """Serve exactly these candles for one interval instead of the generated series."""
        self.market.set_candles(symbol, interval_minutes, candles)

    def seed_market(
        self,
        symbol: str = "BTCUSDT",
        price: Decimal = Decimal("30000"),
        balance: Decimal = Decimal("10000"),
    ) -> dict[str, tuple[str, str]]:
        """List a symbol at a price, with generated candles, and an account on each exchange.

        Returns {"bybit": (key, secret), "phemex": (key, secret)} (DEFAULT_CREDENTIALS).
        """
        self.set_price(symbol, Decimal(price))
        for exchange, (key, secret) in DEFAULT_CREDENTIALS.items():
            if self.engine.account(exchange, key) is None:
                self.add_account(exchange, key, secret, balance)
        return dict(DEFAULT_CREDENTIALS)

    def inject(
        self,
        fault: str,
        *,
        exchange: str | None = None,
        path: str | None = None,
        method: str | None = None,
        times: int = 1,
        **options,
    ) -> None:
        """Make the next ``times`` matching requests fail with ``fault`` (see FAULTS).

        Options: ``delay`` seconds for "timeout" (default 2), ``status`` for "5xx" (503),
        ``process`` for "5xx"/"malformed" (whether the request still takes effect), ``skip``
        (let that many matching requests through first).
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        with self._lock:
            self._faults.append(_Fault(fault, exchange, path, method, times, options))

    # Inspection.
    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request received so far, in order."""
        with self._lock:
            return list(self._log)

    def requests_to(self, path: str, exchange: str | None = None) -> list[LoggedRequest]:
        """The logged requests to one path."""
        return [r for r in self.requests if r.path == path and exchange in (None, r.exchange)]

    def orders(
        self, exchange: str | None = None, *, api_key: str | None = None, symbol: str | None = None
    ) -> list[Order]:
        """Orders the exchange knows, oldest first, optionally filtered."""
        with self.engine.lock:
            found = [
                order
                for account in self.engine.accounts.values()
                for order in account.orders.values()
                if exchange in (None, account.exchange)
                and api_key in (None, account.api_key)
                and symbol in (None, order.symbol)
            ]
        return sorted(found, key=lambda o: o.created_ms)

    def position(self, exchange: str, api_key: str, symbol: str, side: str) -> PositionState:
        """A copy of one side's position."""
        with self.engine.lock:
            pos = self.engine.accounts[(exchange, api_key)].position(symbol, side)
            return PositionState(pos.size, pos.entry, pos.realised)

    def account(self, exchange: str, api_key: str) -> Account:
        """The live account object of a key (mutate under ``engine.lock``)."""
        return self.engine.accounts[(exchange, api_key)]

    # Serving.
    def _take_fault(self, exchange: str, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(exchange, method, path):
                    if fault.options.get("skip", 0) > 0:
                        fault.options["skip"] -= 1  # let this one through untouched
                        return None
                    fault.times -= 1
                    return fault
        return None

    def handle(self, request: _Handler) -> None:
        """Answer one HTTP request: latency, faults, dialect, log."""
        try:
            self._handle(request)
        except OSError:
            # The client went away (it timed out, or the fault dropped it): nothing to answer.
            request.close_connection = True

    def _handle(self, request: _Handler) -> None:
        path, _, raw_query = request.path.partition("?")
        length = int(request.headers.get("Content-Length") or 0)
        raw_body = request.rfile.read(length) if length else b""
        exchange = "bybit" if path.startswith("/v5/") else "phemex"
        ctx = Ctx(
            exchange,
            request.command,
            path,
            raw_query,
            dict(parse_qsl(raw_query)),
            raw_body,
            _json_or_none(raw_body),
            request.headers,
            self.engine,
            self.market,
        )
        if self.latency_ms:
            self._stopping.wait(self.latency_ms / 1000)
        fault = self._take_fault(exchange, ctx.method, path)
        reply = self._reply(ctx, fault)
        self._record(ctx, reply, fault)
        if fault and fault.kind == "drop":
            request.close_connection = True
            return
        if fault and fault.kind == "timeout":
            self._stopping.wait(fault.options.get("delay", 2.0))
        body = reply.encoded()
        request.send_response(reply.status)
        for name, value in {"Content-Type": "application/json", **reply.headers}.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def _reply(self, ctx: Ctx, fault: _Fault | None) -> Reply:
        dialect = DIALECTS[ctx.exchange]
        kind = fault.kind if fault else None
        if kind in ("rate_limit", "bad_key", "duplicate"):
            return getattr(dialect, kind)(ctx)
        process = fault.options.get("process", kind not in ("malformed", "code")) if fault else True
        if process:
            with self.engine.lock:
                reply = dialect.handle(ctx)
        if kind == "code":
            return dialect.fail(fault.options["code"], fault.options.get("message", "error"))
        if kind == "5xx":
            page = b"<html><body>503 Service Temporarily Unavailable</body></html>"
            return Reply(fault.options.get("status", 503), page, {"Content-Type": "text/html"})
        if kind == "malformed":
            return Reply(200, MALFORMED)
        return reply

    def _record(self, ctx: Ctx, reply: Reply, fault: _Fault | None) -> None:
        headers = {k.lower(): v for k, v in ctx.headers.items()}
        entry = LoggedRequest(
            ctx.exchange,
            ctx.method,
            ctx.path,
            ctx.query,
            ctx.body,
            headers,
            reply.status,
            fault.kind if fault else None,
        )
        with self._lock:
            self._log.append(entry)


def _json_or_none(raw: bytes) -> dict | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
