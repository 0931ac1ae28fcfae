"""Operations: health and metrics endpoints, the `health` and `crontab` commands.

``register(app)`` is the one call create_app makes; it is safe to call once per app.
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Add /healthz, /metrics, request timing and the ops commands to ``app``."""
    if app.extensions.get("dcabot_ops"):
        return
    from saas.ops import cli, health  # noqa: PLC0415

    health.init_app(app)
    cli.init_app(app)
    app.extensions["dcabot_ops"] = True
