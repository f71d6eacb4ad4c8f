"""All settings in one place: environment variables with the `SANAD_` prefix and `.env`; CLI flags override."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    stemmer: str = "article"
    k1: float = 1.5
    b: float = 0.75

    # -- reading --
    reader: str = Field(default="auto", pattern="^(auto|transformers|embedded)$")
    model: str = DEFAULT_MODEL
    max_seq_length: int = Field(default=384, ge=32, le=4096)
    doc_stride: int = Field(default=128, ge=8)
    max_answer_tokens: int = Field(default=30, ge=1, le=512)
    reader_batch_size: int = Field(default=8, ge=1)
    hub_timeout: float = Field(default=2.0, gt=0, description="Seconds to wait for the model hub before going offline")

    # -- answer selection --
    top_k: int = Field(default=5, ge=1, le=100)
    no_answer_threshold: float = Field(default=0.2, ge=0.0, le=1.0)
    reader_weight: float = Field(default=0.7, ge=0.0, le=1.0)

    # -- Telegram (the token deliberately has no prefix: it is the name BotFather users know) --
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "SANAD_TELEGRAM_BOT_TOKEN")
    )
    telegram_api_url: str = "https://api.telegram.org/bot"

    def index_dir(self) -> Path:
        return self.index or default_index_for(self.corpus)
