"""All settings in one place: environment variables with the `SANAD_` prefix and `.env`; CLI flags override."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from qa.readers.transformers_reader import DEFAULT_MODEL

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_corpus() -> Path:
    """`./seeds` when run from a checkout's root, else the seeds beside the installed package."""
    here = Path.cwd() / "seeds"
    return here if here.is_dir() else PROJECT_ROOT / "seeds"


def default_index_for(corpus: Path) -> Path:
    """One cached index per corpus folder, outside the corpus (which may be read-only)."""
    key = hashlib.sha1(str(corpus.resolve()).encode("utf-8")).hexdigest()[:12]
    return Path.home() / ".cache" / "sanad" / "indexes" / f"{corpus.resolve().name}-{key}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SANAD_", env_file=".env", extra="ignore")

    # -- corpus and index --
    corpus: Path = Field(default_factory=default_corpus, description="Folder of .txt/.jsonl articles")
    index: Path | None = Field(default=None, description="Index folder; default: a cache folder per corpus")
    stemmer: str = "light"
    k1: float = 1.5
    b: float = 0.75

    # -- reading --
    reader: str = Field(default="auto", pattern="^(auto|transformers|embedded)$")
    model: str = DEFAULT_MODEL
    max_seq_length: int = Field(default=384, ge=32, le=4096)
    doc_stride: int = Field(default=128, ge=8)
    max_answer_tokens: int = Field(default=30, ge=1, le=512)
    reader_batch_size: int = Field(default=8, ge=1)
    reader_optimization: str = Field(
        default="none",
        pattern="^(none|onnx-int8|torch-int8)$",
        description="Faster CPU inference for the transformers reader: int8 weights in ONNX Runtime or torch",
    )
    hub_timeout: float = Field(default=2.0, gt=0, description="Seconds to wait for the model hub before going offline")

    # -- answer selection --
    top_k: int = Field(default=5, ge=1, le=100)
    no_answer_threshold: float = Field(default=0.35, ge=0.0, le=1.0)
    reader_weight: float = Field(default=0.5, ge=0.0, le=1.0)

    # -- Telegram (the token deliberately has no prefix: it is the name BotFather users know) --
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
    # Where 👍/👎 votes are appended as JSON Lines.
    telegram_feedback_file: Path = Field(default_factory=lambda: Path.home() / ".local/share/sanad/feedback.jsonl")
    # Secret mixed into the hashed chat ids of the feedback file (default: derived from the bot token).
    telegram_feedback_salt: SecretStr | None = None
    # Seconds an answer's buttons keep working (their data lives in the bot's memory, not in Telegram).
    telegram_button_ttl: float = Field(default=86400.0, gt=0)
    # Attempts to deliver one reply through 5xx errors, timeouts and dropped connections (429s wait retry_after).
    telegram_send_attempts: int = Field(default=5, ge=1, le=20)
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

    @field_validator("telegram_allowed_chats", "telegram_admins", mode="before")
    @classmethod
    def _chat_ids(cls, value: object) -> object:
        # "123, -456" from the environment; lists pass through from code.
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    def index_dir(self) -> Path:
        return self.index or default_index_for(self.corpus)
