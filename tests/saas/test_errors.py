"""Error pages: 400, 403, 404, 405, 429 and 500 as a short page or JSON, never a stack trace;
``admin_required`` answers browsers and JSON callers differently."""

import logging

import pytest

from saas.decorators import admin_required
from saas.errors import CSRF_MESSAGE
from tests.fixtures.web import csrf_post, login

JSON = {"Accept": "application/json"}


@pytest.fixture
def error_app(app):
    """The app with a view that fails and an admin-only view (added before any request)."""

    def explode():
        raise RuntimeError("database password is hunter2, table users")

    @admin_required
    def admin_only():
        return "admin area"

    app.add_url_rule("/test/explode", "explode", explode)
    app.add_url_rule("/test/admin", "admin_only", admin_only)
    # TESTING re-raises errors for the test's traceback; production shows the page.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_a_missing_page_is_a_404_page_in_the_layout(client):
    response = client.get("/no/such/page")

    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "Not found" in body and 'class="site-header"' in body
    assert response.mimetype == "text/html"


def test_json_callers_get_json_errors(client):
    response = client.get("/no/such/page", headers=JSON)

    assert response.status_code == 404
    assert response.get_json() == {
        "error": "Not found",
        "status": 404,
        "message": "There is nothing here. It may have been moved or deleted.",
    }


def test_an_unexpected_error_shows_a_short_page_and_logs_the_traceback(error_app, caplog):
    client = error_app.test_client()
    with caplog.at_level(logging.ERROR, logger="dcabot.web"):
        response = client.get("/test/explode")

    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "Traceback" not in body and "RuntimeError" not in body and "hunter2" not in body
    assert "unhandled error on GET /test/explode" in caplog.text
    assert "RuntimeError" in caplog.text  # the operator gets the traceback in the log


def test_an_unexpected_error_is_json_for_json_callers(error_app):
    response = error_app.test_client().get("/test/explode", headers=JSON)

    assert response.status_code == 500
    assert response.get_json()["error"] == "Something went wrong"
    assert "hunter2" not in response.get_data(as_text=True)


def test_a_non_admin_gets_403(error_app, user):
    client = error_app.test_client()
    login(client, user)

    page = client.get("/test/admin")
    api = client.get("/test/admin", headers=JSON)

    assert page.status_code == 403 and "Not allowed" in page.get_data(as_text=True)
    assert api.status_code == 403 and api.get_json()["status"] == 403


def test_an_admin_gets_through(error_app, user_factory):
    client = error_app.test_client()
    login(client, user_factory(role="admin"))

    response = client.get("/test/admin")

    assert response.status_code == 200 and response.get_data(as_text=True) == "admin area"


def test_admin_pages_send_anonymous_visitors_to_login(error_app):
    client = error_app.test_client()

    assert client.get("/test/admin").headers["Location"].startswith("/auth/login")
    assert client.get("/test/admin", headers=JSON).status_code == 401


def test_a_wrong_method_is_a_405_page_naming_the_allowed_ones(logged_in):
    response = logged_in.get("/auth/logout")

    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "cannot be used that way" in response.get_data(as_text=True)


def test_too_many_requests_is_a_429_page_with_retry_after(app, client):
    app.config["REGISTER_LIMIT"] = "1 per hour"
    data = {
        "email": "a@example.com",
        "password": "long enough password",
        "confirm": "long enough password",
    }
    csrf_post(client, "/auth/register", data)

    response = csrf_post(client, "/auth/register", data)

    assert response.status_code == 429
    assert "Too many requests" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0


def test_a_refused_form_says_nothing_was_changed(client):
    response = client.post("/auth/forgot", data={"email": "a@example.com"})

    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True)


def test_an_error_page_still_answers_when_the_layout_cannot_render(error_app, monkeypatch):
    import saas.errors

    def broken(*_args, **_kwargs):
        raise RuntimeError("template engine down")

    monkeypatch.setattr(saas.errors, "render_template", broken)

    response = error_app.test_client().get("/no/such/page")

    assert response.status_code == 404
    assert response.get_data(as_text=True) == "404 Not found\n"
