"""The Telegram bot's own settings: `SANAD_TELEGRAM_*` (and `TELEGRAM_BOT_TOKEN`) from the environment or `.env`.

The corpus, reader and data folder are the shared `qa.config.Settings`; these are read by bot/ alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from qa.config import load_settings


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SANAD_", env_file=".env", extra="ignore")

    # The token deliberately has no prefix: it is the name BotFather users know.
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "SANAD_TELEGRAM_BOT_TOKEN")
    )
    telegram_api_url: str = "https://api.telegram.org/bot"
    # Bot API file URL; by default derived from telegram_api_url (".../bot" -> ".../file/bot").
    telegram_file_api_url: str | None = None
    # Questions one user may ask per minute (0: no limit): a shared bot must stay usable for everyone.
    telegram_rate_limit: int = Field(default=20, ge=0)
    # Chats (ids) the bot answers; empty: every chat. Comma-separated in the environment.
    telegram_allowed_chats: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Users (ids) allowed to run /reload. Comma-separated in the environment.
    telegram_admins: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Questions read at the same time, each in its own thread, so the event loop never waits on a reader.
    telegram_max_concurrent_reads: int = Field(default=4, ge=1, le=64)
    # Secret mixed into the hashed chat ids of the feedback file (default: derived from the bot token).
    telegram_feedback_salt: SecretStr | None = None
    # Seconds an answer's buttons keep working (their data lives in the bot's memory, not in Telegram).
    telegram_button_ttl: float = Field(default=86400.0, gt=0)
    # Attempts for button answers and edits through 5xx errors, timeouts and dropped connections (429s wait
    # retry_after). Messages are not limited by it: they wait in the outbox up to SANAD_REPLY_MAX_AGE.
    telegram_send_attempts: int = Field(default=5, ge=1, le=20)
    # Seconds a reply may wait in the outbox for the Bot API to take it; then the user is told, once.
    reply_max_age: float = Field(default=600.0, gt=0)
    # The outbox's backoff between attempts: the first pause, doubled each time up to the cap (seconds).
    telegram_retry_first_delay: float = Field(default=0.5, gt=0)
    telegram_retry_max_delay: float = Field(default=60.0, gt=0)
    # Seconds to wait for the Bot API to answer one request (long polling adds its own timeout on top).
    telegram_request_timeout: float = Field(default=10.0, gt=0)
    # Seconds one getUpdates long poll may wait for new messages.
    telegram_poll_timeout: int = Field(default=30, ge=0, le=600)
    # Messages sent per second across all chats (Telegram allows about 30).
    telegram_messages_per_second: float = Field(default=30.0, gt=0)
    # Webhook mode (sanad bot --webhook-url): public HTTPS URL, local address and port, secret header value.
    telegram_webhook_url: str | None = None
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = Field(default=8443, ge=1, le=65535)
    telegram_webhook_secret: SecretStr | None = None
    # Accept a plain http:// webhook URL. Telegram's own API calls HTTPS only; a local Bot API server
    # (telegram-bot-api --local, or the tests' stand-in) may call plain HTTP on the same machine.
    telegram_webhook_plain_http: bool = False

    @field_validator("telegram_allowed_chats", "telegram_admins", mode="before")
    @classmethod
    def _chat_ids(cls, value: object) -> object:
        # "123, -456" from the environment; lists pass through from code.
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
            if not all(part.lstrip("-").isdigit() for part in parts):
                raise ValueError(
                    "expected chat or user ids, whole numbers separated by commas (like 123,-456)"
                )
            return [int(part) for part in parts]
        if isinstance(value, int):
            return [value]
        return value


def load_bot_settings(
    overrides: Mapping[str, Any] | None = None, flags: Mapping[str, str] | None = None
) -> BotSettings:
    """BotSettings from the environment and .env with `overrides` laid over them; SettingsError if a value is bad."""
    return load_settings(overrides, flags, kind=BotSettings)
