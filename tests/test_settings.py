"""One way to read settings: main.py's .env in every mode as flask reads it; FLASK_ENV and DEBUG."""

from __future__ import annotations

import os

import pytest

import main
from saas.config import Config, ConfigError


@pytest.mark.parametrize("bot_id", [None, "7"])
def test_main_reads_the_env_file_beside_it_in_every_mode_and_the_real_environment_wins(
    tmp_path, monkeypatch, bot_id
):
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///from-file\nENCRYPTION_KEY=file-key\n")
    monkeypatch.setattr(main, "HERE", tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ENCRYPTION_KEY", "real-key")
    if bot_id:
        monkeypatch.setenv("BOT_ID", bot_id)
    else:
        monkeypatch.delenv("BOT_ID", raising=False)
    main.load_dotenv_beside_main()
    assert os.environ["DATABASE_URL"] == "sqlite:///from-file"
    assert os.environ["ENCRYPTION_KEY"] == "real-key"


def test_main_and_the_web_app_read_the_same_file(tmp_path, monkeypatch):
    """saas.environment() and main.py both take ROOT/.env under the real environment."""
    import saas  # noqa: PLC0415

    assert saas.ROOT == main.HERE


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"FLASK_ENV": "development"}, "development"),
        ({"FLASK_ENV": "production"}, "production"),
        ({"DCABOT_ENV": "development", "FLASK_ENV": "development", "DEBUG": "1"}, "development"),
        ({"DEBUG": "0"}, "production"),
        ({"DEBUG": "false"}, "production"),
    ],
)
def test_flask_env_and_debug_are_honoured_where_they_agree(env, expected):
    assert Config({"DATABASE_URL": "sqlite://", **env}).ENV == expected


@pytest.mark.parametrize(
    "env",
    [
        {"FLASK_ENV": "staging"},
        {"FLASK_ENV": "development", "DCABOT_ENV": "production"},
        {"DEBUG": "1"},
        {"DEBUG": "true", "DCABOT_ENV": "production"},
    ],
)
def test_flask_env_or_debug_that_would_be_ignored_is_refused_naming_dcabot_env(env):
    with pytest.raises(ConfigError, match="DCABOT_ENV") as refused:
        Config({"DATABASE_URL": "sqlite://", **env})
    assert "\n" not in str(refused.value)
