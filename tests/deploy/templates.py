"""install.sh's own template rendering, for the deploy tests."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def render(template: str, tmp_path: Path, **values: str) -> str:
    """install.sh's own ``render`` of a deploy/ template, with this checkout as APP_DIR."""
    settings = {
        "APP_DIR": str(ROOT.parent),
        "CURRENT": str(ROOT),
        "DOMAIN": "bots.example.test",
        "CERT": "/nonexistent.pem",
        "CERT_KEY": "/nonexistent.key",
        "ENV_FILE": str(tmp_path / "dcabot.env"),
        **values,
    }
    assigns = " ".join(f"{name}={shlex.quote(value)}" for name, value in settings.items())
    done = subprocess.run(
        ["bash", "-c", f"source deploy/install.sh && {assigns} && render {template}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout
