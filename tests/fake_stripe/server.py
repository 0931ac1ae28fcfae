"""The stand-in's HTTP side: Stripe's API endpoints we call, idempotency, recorded requests."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from urllib.parse import parse_qsl, urlsplit

from tests.fake_stripe.shapes import (
    API_KEY,
    DAY,
    JSON,
    PRICE_IDS,
    WEBHOOK_SECRET,
    StripeRequest,
    error,
    nested_form,
    public,
)
from tests.fake_stripe.stripe_side import StripeSide


class _Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self):  # noqa: N802 - the stdlib's naming
        self.server.stand_in.handle(self)

    do_POST = do_DELETE = do_GET

    def log_message(self, format, *args):  # noqa: A002 - quiet: requests are recorded
        return


class StripeStandIn(StripeSide):
    """The stand-in's state, its HTTP handling and the helpers that play Stripe's side."""

    api_key = API_KEY
    webhook_secret = WEBHOOK_SECRET

    def __init__(self):
        self.customers: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.invoices: dict[str, dict] = {}
        self.portals: dict[str, dict] = {}
        self.requests: list[StripeRequest] = []
        self._idempotent: dict[str, tuple[str, int, dict]] = {}
        self._failures: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> StripeStandIn:
        """Serve on a free loopback port in a background thread."""
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stand_in = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None

    @property
    def url(self) -> str:
        """The API base, e.g. http://127.0.0.1:PORT (STRIPE_API_BASE)."""
        return f"http://127.0.0.1:{self.port}"

    def settings(self, **overrides) -> dict:
        """App config that bills through this stand-in (no retries: failures show at once)."""
        return {
            "STRIPE_SECRET_KEY": self.api_key,
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "STRIPE_API_BASE": self.url,
            "STRIPE_MAX_RETRIES": 0,
            **PRICE_IDS,
            **overrides,
        }

    # -- inspection and scripting -------------------------------------------------------------

    def requests_to(self, path: str, method: str | None = None) -> list[StripeRequest]:
        """Recorded calls to a path (prefix match), optionally of one method."""
        return [
            r
            for r in self.requests
            if r.path.startswith(path) and (method is None or r.method == method)
        ]

    def fail_next(self, path: str, times: int = 1) -> None:
        """The next ``times`` calls to ``path`` (prefix) answer 500 with an api_error."""
        self._failures[path] = times

    def new_id(self, prefix: str) -> str:
        """A fresh object id such as cs_test_0001."""
        return f"{prefix}_test_{next(self._ids):04d}"

    # -- HTTP ----------------------------------------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request."""
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        record = StripeRequest(
            handler.command,
            parts.path,
            dict(parse_qsl(parts.query)),
            nested_form(parse_qsl(body, keep_blank_values=True)),
            {k.lower(): v for k, v in handler.headers.items()},
        )
        with self._lock:
            self.requests.append(record)
            status, payload, content_type = self._answer(record, parts.query)
            record.status = status
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Request-Id", f"req_{next(self._ids)}")
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, request: StripeRequest, query: str) -> tuple[int, dict | str, str]:
        """Status, body and content type for one request."""
        if request.path.startswith(("/pay/", "/portal/")):
            return 200, self._hosted_page(request.path), "text/html; charset=utf-8"
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, error("invalid_request_error", "Invalid API Key provided."), JSON
        for prefix, left in list(self._failures.items()):
            if left > 0 and request.path.startswith(prefix):
                self._failures[prefix] = left - 1
                return 500, error("api_error", "Stand-in failure."), JSON
        key = request.idempotency_key if request.method == "POST" else None
        fingerprint = json.dumps([request.path, request.form], sort_keys=True)
        if key and key in self._idempotent:
            first, status, payload = self._idempotent[key]
            if first != fingerprint:
                return (
                    400,
                    error(
                        "idempotency_error",
                        "Keys for idempotent requests can only "
                        "be used with the same parameters they were first used "
                        "with.",
                    ),
                    JSON,
                )
            return status, payload, JSON
        status, payload = self._route(request)
        if key:
            self._idempotent[key] = (fingerprint, status, payload)
        return status, payload, JSON

    def _route(self, request: StripeRequest) -> tuple[int, dict]:
        """The API endpoints."""
        method, path, form = request.method, request.path, request.form
        if method == "POST" and path == "/v1/customers":
            return 200, self._create_customer(form)
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(form)
        if method == "POST" and path == "/v1/billing_portal/sessions":
            return self._create_portal(form)
        if method == "GET" and path == "/v1/invoices":
            return 200, self._list_invoices(request.query)
        ended = re.fullmatch(r"/v1/subscriptions/([\w-]+)", path)
        if method == "DELETE" and ended and ended.group(1) in self.subscriptions:
            self.cancel_subscription(ended.group(1))
            return 200, self.subscriptions[ended.group(1)]
        found = re.fullmatch(r"/v1/(customers|checkout/sessions|subscriptions)/([\w-]+)", path)
        if method == "GET" and found:
            store = {
                "customers": self.customers,
                "checkout/sessions": self.sessions,
                "subscriptions": self.subscriptions,
            }[found.group(1)]
            if found.group(2) in store:
                return 200, store[found.group(2)]
            return 404, error(
                "invalid_request_error",
                f"No such object: '{found.group(2)}'",
                code="resource_missing",
            )
        return 404, error("invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def _create_customer(self, form: dict) -> dict:
        """POST /v1/customers."""
        customer = {
            "id": self.new_id("cus"),
            "object": "customer",
            "email": form.get("email"),
            "metadata": form.get("metadata") or {},
            "created": int(time.time()),
            "livemode": False,
        }
        self.customers[customer["id"]] = customer
        return customer

    def _create_session(self, form: dict) -> tuple[int, dict]:
        """POST /v1/checkout/sessions (subscription mode, one price)."""
        items = form.get("line_items") or []
        if form.get("mode") != "subscription" or len(items) != 1 or not items[0].get("price"):
            return 400, error(
                "invalid_request_error",
                "Expected mode=subscription and one line item with a price.",
            )
        if form.get("customer") and form["customer"] not in self.customers:
            return 400, error(
                "invalid_request_error",
                f"No such customer: '{form['customer']}'",
                code="resource_missing",
            )
        session_id = self.new_id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "subscription",
            "status": "open",
            "payment_status": "unpaid",
            "url": f"{self.url}/pay/{session_id}",
            "customer": form.get("customer"),
            "client_reference_id": form.get("client_reference_id"),
            "subscription": None,
            "success_url": form.get("success_url"),
            "cancel_url": form.get("cancel_url"),
            "metadata": form.get("metadata") or {},
            "created": int(time.time()),
            "expires_at": int(time.time()) + DAY,
            "livemode": False,
            # The stand-in keeps what was bought; Stripe has it under line_items.
            "_price": items[0]["price"],
            "_subscription_metadata": (form.get("subscription_data") or {}).get("metadata", {}),
        }
        self.sessions[session_id] = session
        return 200, public(session)

    def _create_portal(self, form: dict) -> tuple[int, dict]:
        """POST /v1/billing_portal/sessions."""
        if form.get("customer") not in self.customers:
            return 400, error("invalid_request_error", "No such customer.", code="resource_missing")
        portal_id = self.new_id("bps")
        portal = {
            "id": portal_id,
            "object": "billing_portal.session",
            "customer": form["customer"],
            "return_url": form.get("return_url"),
            "url": f"{self.url}/portal/{portal_id}",
            "created": int(time.time()),
            "livemode": False,
        }
        self.portals[portal_id] = portal
        return 200, portal

    def _list_invoices(self, query: dict) -> dict:
        """GET /v1/invoices?customer=...&limit=..., newest first."""
        found = [i for i in self.invoices.values() if i["customer"] == query.get("customer")]
        found.sort(key=lambda i: (i["created"], i["id"]), reverse=True)
        limit = int(query.get("limit") or 10)
        return {
            "object": "list",
            "url": "/v1/invoices",
            "has_more": len(found) > limit,
            "data": found[:limit],
        }

    def _hosted_page(self, path: str) -> str:
        """A stand-in for Stripe's hosted pages: a heading and the way back."""
        kind, _, object_id = path.strip("/").partition("/")
        if kind == "pay":
            back = (self.sessions.get(object_id) or {}).get("success_url") or "/"
            back = back.replace("{CHECKOUT_SESSION_ID}", object_id)
        else:
            back = (self.portals.get(object_id) or {}).get("return_url") or "/"
        return (
            f"<!doctype html><title>Stand-in {kind}</title><link rel='icon' href='data:,'>"
            f"<h1 id='stand-in'>Stripe stand-in: {kind} {object_id}</h1>"
            f"<a id='back' href='{back}'>Back</a>"
        )
