"""The bot through Telegram faults and load: 429s, 5xx bursts, timeouts, an API outage, 50 chats at once."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import replace

from bot.render import MAX_MESSAGE_CHARS
from qa.types import Citation
from tests.support.bot import PRIVATE, SPOKESMAN_Q, ask, buttons, settle


def test_a_429_is_retried_after_retry_after(api, start_bot):
    start_bot()
    api.fail("sendMessage", 1, status=429, retry_after=1)
    [reply] = ask(api, PRIVATE, SPOKESMAN_Q)
    assert "ماثيو ميلر" in reply.text
    first, second = api.calls_of("sendMessage")
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 1.0  # waited as told


def test_a_burst_of_500s_is_retried_with_backoff(api, start_bot):
    start_bot()
    api.fail("sendMessage", 3, status=500)
    [reply] = ask(api, PRIVATE, SPOKESMAN_Q)
    assert "ماثيو ميلر" in reply.text
    calls = api.calls_of("sendMessage")
    assert [c.status for c in calls] == [500, 500, 500, 200]
    gaps = [b.at - a.at for a, b in zip(calls, calls[1:])]
    assert gaps[2] > gaps[0]  # backing off, not hammering


def test_timeouts_and_dropped_connections_are_retried(api, start_bot):
    start_bot(telegram_request_timeout=0.5)
    api.fail("sendMessage", 1, delay=0.8, status=504)  # slower than the bot waits
    api.fail("sendMessage", 1, drop=True)  # the connection closes without a response
    [reply] = ask(api, PRIVATE, SPOKESMAN_Q)
    assert "ماثيو ميلر" in reply.text
    assert len(api.messages_to(PRIVATE)) == 1


def test_polling_survives_an_api_outage_and_answers_each_update_once(api, start_bot):
    start_bot()
    [before] = ask(api, PRIVATE, SPOKESMAN_Q)
    api.fail("getUpdates", 1, status=502)
    api.fail("getUpdates", 1, drop=True)
    api.fail("getUpdates", 1, status=500)
    api.wait_until(lambda: any(c.status == 502 for c in api.calls_of("getUpdates")), timeout=5)
    api.user_message(PRIVATE, "من هو وزير الخارجية الأمريكي؟")  # sent while the API is down
    after = api.wait_messages(PRIVATE, 2, timeout=20)[1]
    assert "أنتوني بلينكن" in after.text
    statuses = [c.status for c in api.calls_of("getUpdates")]
    assert {502, 0, 500} <= set(statuses) and statuses[-1] == 200
    settle(api, 1.2)  # another poll: the update is confirmed, never delivered again
    assert len(api.messages_to(PRIVATE)) == 2 and before.message_id != after.message_id


def test_fifty_chats_at_once_are_each_answered_exactly_once(api, start_bot):
    start_bot()
    chats = list(range(1000, 1050))
    asked = {}
    for chat in chats:
        asked[chat] = time.time()
        api.user_message(chat, SPOKESMAN_Q)
    api.wait_until(lambda: len({m.chat_id for m in api.sent}) == len(chats), timeout=30)
    settle(api, 0.5)
    per_chat = Counter(m.chat_id for m in api.sent)
    assert all(per_chat[chat] == 1 for chat in chats) and sum(per_chat.values()) == len(chats)
    assert all("ماثيو ميلر" in m.text for m in api.sent)
    latencies = sorted(api.messages_to(chat)[0].at - asked[chat] for chat in chats)
    p50 = statistics.median(latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"\n50 chats: reply latency p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    assert p95 < 5.0


def test_a_6000_character_reply_is_split_at_paragraphs_with_valid_html(api, start_bot, rules_pipeline):
    pipeline = rules_pipeline()
    real_ask = pipeline.ask
    paragraphs = [f"الفقرة {n}: " + "جملة عربية عن وقف إطلاق النار في غزة <مهمة> & طويلة. " * 12 for n in range(1, 11)]
    long_passage = "\n\n".join(paragraphs)
    assert len(long_passage) > 6000

    def long_answer(question: str, top_k: int | None = None):
        answer = real_ask(question, top_k)
        start = long_passage.index("وقف إطلاق النار", 3000)
        cited = Citation("long", "مقال طويل", "اختبار", "long#0", long_passage, start, start + len("وقف إطلاق النار"), 1.0)
        return replace(answer, citations=[cited])

    pipeline.ask = long_answer  # type: ignore[method-assign]
    start_bot(pipeline)
    [reply] = ask(api, PRIVATE, SPOKESMAN_Q)
    api.press(reply, buttons(reply)["النص الكامل"])
    # The stand-in rejects messages over 4096 characters or with HTML Telegram cannot parse.
    parts = api.wait_messages(PRIVATE, 3)[1:]
    settle(api)
    parts = api.messages_to(PRIVATE)[1:]
    assert len(parts) == 2
    assert all(len(p.text) <= MAX_MESSAGE_CHARS for p in parts)
    assert all(p.text.rstrip().endswith("طويلة.") for p in parts[:-1])  # cut at a paragraph's end
    assert parts[1].text.startswith("الفقرة")
    assert "".join(p.text for p in parts).count("الفقرة") == 10
    assert sum("<b><u>" in p.html for p in parts) == 1
