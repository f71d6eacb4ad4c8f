"""Fixtures of the bot's end-to-end tests: a Bot API stand-in, the seed articles, settings, running bots."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.app import build_application
from qa.config import Settings
from qa.pipeline import Pipeline
from tests.support.bot import PRIVATE, TOKEN
from tests.support.bot_thread import BotThread
from tests.support.standin import BotAPIStandIn

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed articles alone (seeds/ also holds the gold questions, which are not articles)."""
    folder = tmp_path_factory.mktemp("corpus")
    for article in SEEDS.glob("*.txt"):
        shutil.copy(article, folder / article.name)
    return folder


@pytest.fixture
def api() -> Iterator[BotAPIStandIn]:
    with BotAPIStandIn(TOKEN, max_poll=1.0) as standin:
        yield standin


@pytest.fixture
def make_settings(api: BotAPIStandIn, corpus: Path, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "corpus": corpus,
            "index": tmp_path / "index",
            "reader": "embedded",
            # The bot's own behaviour, not retrieval's: BM25 starts it without embedding the corpus.
            "retrieval": "bm25",
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "telegram_api_url": api.base_url,
            "telegram_poll_timeout": 1,
            "telegram_request_timeout": 2.0,
            "data_dir": tmp_path / "data",
            "telegram_admins": [PRIVATE],
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def start_bot(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., BotThread]]:
    running: list[BotThread] = []

    def start(pipeline: Pipeline | None = None, **overrides: object) -> BotThread:
        settings = make_settings(**overrides)
        thread = BotThread(build_application(settings, pipeline), settings).start()
        running.append(thread)
        return thread

    yield start
    for thread in running:
        thread.stop()
