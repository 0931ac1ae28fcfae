"""Admin test helpers: staff users of each role on the bots ``site``."""

from __future__ import annotations

import pytest


@pytest.fixture
def staff(site):
    """An admin and a support member, by id."""
    return {
        "admin": site.user("admin@example.com", role="admin"),
        "support": site.user("support@example.com", role="support"),
    }
