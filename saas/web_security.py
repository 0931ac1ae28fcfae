"""Response hardening: the strict CSP and security headers, cookie flags, the client address."""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Two years, as nginx sends it: browsers then refuse plain HTTP to this host. The app sends it
# whenever cookies are Secure (production), so an install behind another proxy gets it too;
# deploy/nginx-dcabot.conf hides the app's copy and adds its own, so the header appears once.
HSTS = "max-age=63072000"


def client_ip() -> str | None:
    """The client's address for audit rows (the proxy's X-Forwarded-For once ProxyFix ran)."""
    return request.remote_addr


def add_security_headers(response):
    """Every response gets the headers (HSTS in production); dynamic HTML is never cached."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if response.mimetype == "text/html" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Trust the configured proxies, add the headers, and check the cookie settings."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0)
    app.after_request(add_security_headers)
    # Cookies: HttpOnly and SameSite=Lax always, Secure in production (Config sets it).
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")

    @app.context_processor
    def endpoint_helpers():
        """Templates ask ``has_endpoint('bots.index')`` before linking to an optional area."""
        return {"has_endpoint": lambda name: name in app.view_functions}
