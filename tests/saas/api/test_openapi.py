"""The OpenAPI document: valid 3.1, generated from the routes, every route listed; the docs page."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from saas.web_security import CONTENT_SECURITY_POLICY

RULE_ARGUMENT = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def test_the_document_is_valid_openapi_3_1(api_site):
    response = api_site.api().get("/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_api_route_and_method_is_in_the_document(api_site):
    document = api_site.api().get("/openapi.json").get_json()
    listed = {(path, method) for path, ops in document["paths"].items() for method in ops}
    routes = set()
    for rule in api_site.app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = RULE_ARGUMENT.sub(r"{\1}", rule.rule.removeprefix("/api/v1"))
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((path, method.lower()))
    assert routes == listed


def test_token_operations_declare_bearer_security_and_problem_errors(api_site):
    document = api_site.api().get("/openapi.json").get_json()
    ops = document["paths"]["/bots/{bot_id}"]
    assert ops["get"]["security"] == [{"bearer": []}]
    problem = ops["get"]["responses"]["404"]["content"]
    assert "application/problem+json" in problem
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_docs_page_renders_the_document_without_inline_script(api_site):
    response = api_site.api().get("/docs")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "/api/v1/openapi.json" in page and "api-docs.js" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline script breaks the CSP"
    assert "onclick=" not in page and "style=" not in page
    script = api_site.app.test_client().get("/static/api-docs.js")
    assert script.status_code == 200 and b"textContent" in script.data
    script.close()
