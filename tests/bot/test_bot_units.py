"""The bot's pieces alone: HTML rendering and splitting, button store, limits, feedback file, token checks, redaction."""

from __future__ import annotations

import json
import logging
import re
import threading

import pytest
from pydantic import SecretStr

from bot.callbacks import MAX_CALLBACK_BYTES, CallbackStore, callback_data, parse_callback_data
from bot.credentials import BotConfigError, bot_endpoint, file_url_for
from bot.db import Database
from bot.feedback import Feedback, move_old_votes
from bot.limits import AllowList, RateLimiter
from bot.logsafe import redact_in_logs
from bot.render import answer_message, esc, split_message
from bot.settings import BotSettings, load_bot_settings
from qa.config import SettingsError
from qa.feedback import FeedbackStore, feedback_path
from qa.render import FSI, PDI, isolate
from qa.types import Answer, Citation
from tests.support.standin import _check_message


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def citation(passage: str, quote: str, **kw: object) -> Citation:
    start = passage.index(quote)
    values = {"doc_id": "doc1", "title": "عنوان", "source": "رويترز", "passage_id": "doc1#0", "score": 0.9}
    values.update(kw)
    return Citation(passage=passage, start=start, end=start + len(quote), **values)  # type: ignore[arg-type]


def test_latin_and_digit_runs_are_isolated_and_html_escaped():
    assert isolate("قال Matthew Miller في 10:30") == f"قال {FSI}Matthew Miller{PDI} في {FSI}10:30{PDI}"
    assert esc("<b>a & b</b>") == f"&lt;{FSI}b{PDI}&gt;{FSI}a & b{PDI}&lt;{FSI}/b{PDI}&gt;".replace(" & ", " &amp; ")
    assert isolate("اكتب /help أو (أو Ctrl-D)") == f"اكتب {FSI}/help{PDI} أو (أو {FSI}Ctrl-D{PDI})"
    assert isolate("نص عربي فقط") == "نص عربي فقط"


def test_the_answer_message_bolds_the_answer_and_highlights_it_in_the_snippet():
    passage = "قال المتحدث <ماثيو ميلر> إن الوزير سيزور المنطقة في 2024."
    answer = Answer("من؟", "<ماثيو ميلر>", 0.9, [citation(passage, "<ماثيو ميلر>")], "embedded")
    message = answer_message(answer, 0.35)
    assert message.startswith("<b>&lt;ماثيو ميلر&gt;</b>\nالثقة: عالية")
    assert "<b><u>&lt;ماثيو ميلر&gt;</u></b>" in message and "📄 <b>عنوان</b>" in message
    assert f"{FSI}2024{PDI}" in message and _check_message({"text": message, "parse_mode": "HTML"}) == ""


def test_a_long_message_splits_at_paragraphs_without_breaking_tags():
    paragraph = "<b>عنوان الفقرة</b> " + "جملة طويلة عن الموضوع &amp; تفاصيله. " * 20
    text = "<i>" + "\n\n".join([paragraph] * 12) + "</i>"
    assert len(text) > 6000
    chunks = split_message(text)
    assert len(chunks) >= 2
    for chunk in chunks:
        assert len(chunk.encode("utf-16-le")) // 2 <= 4096
        assert chunk.startswith("<i>") and chunk.endswith("</i>")  # closed at the cut, reopened after it
        assert _check_message({"text": chunk, "parse_mode": "HTML"}) == ""
        assert chunk[:-4].rstrip().endswith("تفاصيله.")  # a paragraph's end
    assert sum(c.count("عنوان الفقرة") for c in chunks) == 12


def test_split_falls_back_to_sentences_then_words_and_never_cuts_an_entity():
    sentences = "كلمة " * 30 + "نهاية الجملة. "
    chunks = split_message(sentences * 20, limit=500)
    assert all(len(c) <= 500 for c in chunks) and all(c.endswith("الجملة.") for c in chunks[:-1])
    words = "&amp;كلمة " * 300
    chunks = split_message(words, limit=200)
    assert all(len(c) <= 200 and not re.search(r"&\w*$", c) and not c.startswith("amp;") for c in chunks)
    assert "".join(chunks).count("&amp;") == 300
    assert split_message("قصير") == ["قصير"]


def test_button_data_is_short_and_expires(tmp_path):
    clock = Clock()
    store = CallbackStore(Database(tmp_path / "bot.sqlite3"), ttl=60, capacity=3, clock=clock)
    answer = Answer("س", "ج", 0.5, [citation("نص ج", "ج")], "embedded")
    key = store.put(answer)
    data = callback_data("more", key)
    assert len(data.encode()) <= MAX_CALLBACK_BYTES and parse_callback_data(data) == ("more", key)
    assert store.get(key) == answer  # a round trip through the database
    assert CallbackStore(Database(tmp_path / "bot.sqlite3"), ttl=60, clock=clock).get(key) == answer  # a new process
    clock.now = 61
    assert store.get(key) is None
    keys = [store.put(answer) for _ in range(5)]
    assert len(store) == 3 and store.get(keys[0]) is None and store.get(keys[-1]) is not None
    with pytest.raises(ValueError):
        callback_data("x" * 60, key)


def test_rate_limit_is_per_user_slides_and_outlives_a_restart(tmp_path):
    clock = Clock()
    limits = RateLimiter(Database(tmp_path / "bot.sqlite3"), limit=2, window=60, clock=clock)
    assert limits.allow(1) and limits.allow(1) and not limits.allow(1)
    assert not RateLimiter(Database(tmp_path / "bot.sqlite3"), limit=2, window=60, clock=clock).allow(1)
    assert limits.allow(2)
    clock.now = 30
    assert limits.retry_in(1) == pytest.approx(30)
    clock.now = 60
    assert limits.allow(1)
    assert RateLimiter(Database(tmp_path / "other.sqlite3"), limit=0).allow(1)
    assert AllowList([]).allows(5) and AllowList([1]).allows(1) and not AllowList([1]).allows(5)


def test_concurrent_votes_are_each_recorded_once_and_exported(tmp_path):
    import io

    store = FeedbackStore(feedback_path(tmp_path / "state"))
    feedback = Feedback(store, salt="s")
    answer = Answer("سؤال " * 500, "جواب", 0.5, [citation("نص جواب", "جواب")], "embedded")
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda n=n: results.extend(feedback.record(f"k{k}", n, -5, answer, "up") for k in range(20)))
        for n in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results.count(True) == 200
    assert feedback.record("k0", 3, -5, answer, "down") is False  # that user voted on that answer already
    out = io.StringIO()
    assert store.export(out) == 200
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {r["chat"] for r in records} == {feedback.chat_hash(-5)} and all(r["vote"] == "up" for r in records)
    assert records[0]["citation"]["doc_id"] == "doc1" and records[0]["citation"]["quote"] == "جواب"
    assert records[0]["question"] == answer.question and records[0]["answer"] == "جواب"
    assert feedback.chat_hash(1) != Feedback(store, salt="other").chat_hash(1)
    assert all(r["front_end"] == "bot" for r in records)


def test_votes_an_earlier_version_kept_in_the_bot_database_move_to_the_shared_file_once(tmp_path):
    db = Database(tmp_path / "bot.sqlite3")
    with db.transaction() as conn:  # the table as the earlier version made it
        conn.execute("CREATE TABLE feedback (id INTEGER PRIMARY KEY, button TEXT, voter TEXT, chat TEXT, question TEXT,"
                     " answer TEXT, citation TEXT, score REAL, reader TEXT, vote TEXT, time TEXT)")  # fmt: skip
        conn.execute("INSERT INTO feedback VALUES (1, 'k', 'v', 'c', 'سؤال', 'جواب', '{\"doc_id\": \"d\"}', 0.5,"
                     " 'embedded', 'up', '2026-01-01T00:00:00Z')")  # fmt: skip
    store = FeedbackStore(feedback_path(tmp_path))
    assert move_old_votes(db, store) == 1
    assert move_old_votes(db, store) == 0  # moved once
    [vote] = store.entries()
    assert vote == {"front_end": "bot", "chat": "c", "question": "سؤال", "answer": "جواب", "citation": {"doc_id": "d"},
                    "score": 0.5, "reader": "embedded", "vote": "up", "time": "2026-01-01T00:00:00Z"}  # fmt: skip
    assert db.query("SELECT count(*) AS n FROM feedback_moved")[0]["n"] == 1  # kept, renamed
    assert Feedback(store, salt="").voted("k", 0) is None and store.voted("bot", "k", "v") == "up"


def test_a_missing_or_malformed_token_is_a_clear_error():
    with pytest.raises(BotConfigError, match="TELEGRAM_BOT_TOKEN is not set"):
        bot_endpoint(BotSettings(TELEGRAM_BOT_TOKEN=None))
    with pytest.raises(BotConfigError, match="does not look like a bot token") as err:
        bot_endpoint(BotSettings(TELEGRAM_BOT_TOKEN="secret value"))
    assert "secret value" not in str(err.value)
    with pytest.raises(BotConfigError, match="SANAD_TELEGRAM_API_URL"):
        bot_endpoint(BotSettings(TELEGRAM_BOT_TOKEN="1:a", telegram_api_url="api.telegram.org/bot"))
    endpoint = bot_endpoint(
        BotSettings(TELEGRAM_BOT_TOKEN=SecretStr("123:abc"), telegram_api_url="http://127.0.0.1:8081/bot")
    )
    assert (endpoint.token, endpoint.base_file_url) == ("123:abc", "http://127.0.0.1:8081/file/bot")
    assert file_url_for("https://h/bot{token}/test") == "https://h/file/bot{token}/test"


def test_secrets_are_redacted_in_messages_and_tracebacks(caplog):
    redact_in_logs("999:very-secret")
    logger = logging.getLogger("sanad.test")
    with caplog.at_level(logging.INFO):
        logger.info("GET %s", "https://api.telegram.org/bot999:very-secret/getMe")
        try:
            raise RuntimeError("failed: https://api.telegram.org/bot999:very-secret/sendMessage")
        except RuntimeError:
            logger.exception("oops")
    assert "very-secret" not in caplog.text and caplog.text.count("<redacted>") >= 2


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8081", "https://api.telegram.org", "http://127.0.0.1:8081/bots", "http://127.0.0.1:99999/bot"]
)
def test_an_api_url_that_cannot_be_right_is_refused_at_start(url, monkeypatch, capsys):
    from qa.cli import main

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("SANAD_TELEGRAM_API_URL", url)
    assert main(["bot", "--reader", "embedded"]) == 2
    err = capsys.readouterr().err
    assert "SANAD_TELEGRAM_API_URL must be an http(s) URL ending in /bot" in err and repr(url) in err
    assert "123:abc" not in err


def test_a_closed_port_is_explained_after_the_first_failure(tmp_path):
    import os
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "123:abc", "SANAD_TELEGRAM_API_URL": f"http://127.0.0.1:{port}/bot",
           "HOME": str(tmp_path)}  # fmt: skip
    bot = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "bot", "--reader", "embedded"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        started, lines = time.monotonic(), []
        while time.monotonic() - started < 60:
            line = bot.stderr.readline()
            lines.append(line)
            if "Cannot reach the Bot API" in line or not line:
                break
        said = "".join(lines)
        assert f"Cannot reach the Bot API at http://127.0.0.1:{port}/bot" in said, said
        assert "Retrying until it answers" in said and "123:abc" not in said
        assert time.monotonic() - started < 30, "said at the first failure, not after rounds of retries"
        assert bot.poll() is None, "it keeps retrying: the server may come up"
    finally:
        bot.kill()
        bot.wait()


def test_confidence_bands_follow_the_threshold_so_each_word_can_show():
    from qa.render import confidence_word

    for threshold in (0.35, 0.7):
        assert confidence_word(threshold, threshold) == "منخفضة"
        assert confidence_word((threshold + 1) / 2, threshold) == "متوسطة"
        assert confidence_word(1.0, threshold) == "عالية"


def test_a_plain_http_webhook_needs_the_setting_that_allows_it():
    from bot.app import run_webhook
    from bot.credentials import BotConfigError

    settings = BotSettings(telegram_webhook_url="http://127.0.0.1:1/hook", telegram_webhook_secret="s")
    with pytest.raises(BotConfigError, match="PLAIN_HTTP"):
        run_webhook(None, settings)  # refused before the application is touched


def test_a_bad_bot_setting_names_its_variable(monkeypatch):
    monkeypatch.setenv("SANAD_TELEGRAM_ADMINS", "12, abc")
    with pytest.raises(SettingsError, match=r"SANAD_TELEGRAM_ADMINS=12, abc \(environment or .env\)"):
        load_bot_settings()
    monkeypatch.setenv("SANAD_TELEGRAM_ADMINS", "12,-5")
    assert load_bot_settings().telegram_admins == [12, -5]
