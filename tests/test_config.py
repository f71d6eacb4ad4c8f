"""Settings: every one documented in .env.example, environment and .env read, flags override."""

import argparse
from pathlib import Path

import pytest
from pydantic import AliasChoices

from bot.settings import BotSettings
from qa.commands.common import settings_from
from qa.config import Settings

ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


def _env_names(name: str, field) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(a) for a in alias.choices]
    return [f"SANAD_{name.upper()}"]


@pytest.mark.parametrize("kind", [Settings, BotSettings])
def test_every_setting_is_listed_in_env_example(kind):
    text = ENV_EXAMPLE.read_text("utf-8")
    listed = {line.lstrip("# ").split("=", 1)[0] for line in text.splitlines() if "=" in line}
    missing = [name for name, field in kind.model_fields.items() if not set(_env_names(name, field)) & listed]
    assert missing == []


def test_environment_and_dotenv_are_read(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SANAD_TOP_K=7\nTELEGRAM_BOT_TOKEN=123:abc\n", "utf-8")
    monkeypatch.setenv("SANAD_READER", "embedded")
    settings = Settings()
    assert settings.top_k == 7 and settings.reader == "embedded"
    bot_settings = BotSettings()  # the bot's own settings come from the same environment and .env
    assert bot_settings.telegram_bot_token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(bot_settings)


def test_command_line_flags_override_the_environment(monkeypatch):
    monkeypatch.setenv("SANAD_TOP_K", "7")
    monkeypatch.setenv("SANAD_READER", "transformers")
    settings = settings_from(argparse.Namespace(top_k=3, reader="embedded", corpus=None, index=None, model=None))
    assert settings.top_k == 3 and settings.reader == "embedded"


def test_default_index_lives_outside_the_corpus(seeds_dir):
    index = Settings(corpus=seeds_dir).index_dir()
    assert seeds_dir.resolve() not in index.resolve().parents
