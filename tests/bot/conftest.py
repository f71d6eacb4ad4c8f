"""Fixtures of the bot's end-to-end tests: a Bot API stand-in, the seed articles, settings, running bots."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.app import build_application
from bot.settings import BotSettings
from qa.config import Settings
from qa.pipeline import Pipeline
from qa.readers import factory
from tests.support.bot import PRIVATE, TOKEN
from tests.support.bot_thread import BotThread
from tests.support.rule_reader import HeuristicReader
from tests.support.standin import BotAPIStandIn

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
# Settings of the bot alone (BotSettings), told apart from the shared ones in start_bot's overrides.
BOT_FIELDS = {*BotSettings.model_fields, "TELEGRAM_BOT_TOKEN"}


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
def make_settings(corpus: Path, tmp_path: Path) -> Callable[..., Settings]:
    """The shared settings (corpus, index, reader, data folder) of a bot under test."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "corpus": corpus,
            "index": tmp_path / "index",
            "reader": "embedded",
            # The bot's own behaviour, not retrieval's: BM25 starts it without embedding the corpus.
            "retrieval": "bm25",
            "data_dir": tmp_path / "data",
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def make_bot_settings(api: BotAPIStandIn) -> Callable[..., BotSettings]:
    """The bot's own settings, pointed at the stand-in, with short timeouts."""

    def make(**overrides: object) -> BotSettings:
        values: dict[str, object] = {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "telegram_api_url": api.base_url,
            "telegram_poll_timeout": 1,
            "telegram_request_timeout": 2.0,
            "telegram_admins": [PRIVATE],
        }
        values.update(overrides)
        return BotSettings(**values)

    return make


@pytest.fixture
def rules_pipeline(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Pipeline]:
    """A pipeline over the seeds that reads with the fixed rule reader: the tests of delivery, buttons, votes
    and faults check the bot, and must not change when the shipped model is retrained."""

    def make(**overrides: object) -> Pipeline:
        with monkeypatch.context() as patch:
            patch.setattr(factory, "make_reader", lambda settings, notices=None: HeuristicReader())
            return Pipeline.from_settings(make_settings(**overrides))

    return make


@pytest.fixture
def start_bot(
    make_settings: Callable[..., Settings],
    make_bot_settings: Callable[..., BotSettings],
    rules_pipeline: Callable[..., Pipeline],
) -> Iterator[Callable[..., BotThread]]:
    """Starts a bot polling the stand-in; `overrides` may name shared and bot settings alike.

    By default it reads with the rule reader (rules_pipeline); `reader="auto"` (or another kind) lets the
    bot load that reader itself, as `sanad bot` does.
    """
    running: list[BotThread] = []

    def start(pipeline: Pipeline | None = None, reader: str = "rules", **overrides: object) -> BotThread:
        own = {key: overrides.pop(key) for key in list(overrides) if key in BOT_FIELDS}
        shared = overrides if reader == "rules" else {**overrides, "reader": reader}
        if pipeline is None and reader == "rules":
            pipeline = rules_pipeline(**shared)
        bot_settings = make_bot_settings(**own)
        thread = BotThread(
            build_application(make_settings(**shared), bot_settings, pipeline), bot_settings
        ).start()
        running.append(thread)
        return thread

    yield start
    for thread in running:
        thread.stop()
