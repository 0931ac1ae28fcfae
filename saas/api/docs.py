"""The OpenAPI document and a page that renders it (a script served from our own static files)."""

from __future__ import annotations

from flask import jsonify, render_template, request

from saas.api.openapi import openapi_document
from saas.api.registry import api_route


@api_route(
    "/openapi.json",
    "GET",
    summary="This document",
    scope=None,
    tag="meta",
    response={"type": "object"},
)
def openapi_json():
    """The OpenAPI 3.1 document of every route under /api/v1/."""
    return jsonify(openapi_document(request.script_root + "/api/v1"))


@api_route("/docs", "GET", summary="The API reference page", scope=None, tag="meta", response=None)
def docs_page():
    """HTML rendering the document with static/api-docs.js (no inline script: CSP-safe)."""
    return render_template("api/docs.html")
