"""The Telegram bot end to end: the real python-telegram-bot Application polling a local Bot API stand-in."""

from __future__ import annotations

import json
import logging
import time

from bot import handlers
from bot.app import build_application
from qa.feedback import FeedbackStore, feedback_path
from tests.support.bot import NO_ANSWER_Q, PRIVATE, SPOKESMAN_Q, TOKEN, ask, buttons, settle
from tests.support.bot_thread import BotThread


def test_start_welcomes_lists_the_corpus_and_offers_example_buttons(api, start_bot):
    start_bot()
    [welcome] = ask(api, PRIVATE, "/start")
    assert "سَنَد" in welcome.text
    assert "بلينكن يبحث وقف إطلاق النار بغزة مع مسؤولين إسرائيليين" in welcome.text  # a document title
    examples = buttons(welcome)
    assert len(examples) == 3 and SPOKESMAN_Q in examples
    api.press(welcome, examples[SPOKESMAN_Q])
    [answer] = api.wait_messages(PRIVATE, 2)[1:]
    assert "ماثيو ميلر" in answer.text


def test_a_question_gets_a_cited_answer(api, start_bot):
    # The one end-to-end test with the shipped reader, loaded by the bot as `sanad bot` loads it; the
    # other tests read with the rule reader, so that a retrained model changes none of them.
    start_bot(reader="auto")
    [reply] = ask(api, PRIVATE, SPOKESMAN_Q)
    assert reply.html.startswith("<b>ماثيو ميلر</b>")
    assert "الثقة: " in reply.text and any(w in reply.text for w in ("عالية", "متوسطة", "منخفضة"))
    assert "المصدر:" in reply.text and "003_d15b74a03d651d6f" in reply.text  # this article names no outlet
    assert "<b><u>ماثيو ميلر</u></b>" in reply.html  # highlighted in the snippet
    assert "\u2068003_d15b74a03d651d6f\u2069" in reply.text  # the Latin/digit run is isolated
    assert set(buttons(reply)) == {"النص الكامل", "مصادر أخرى", "👍", "👎"}
    assert api.calls_of("sendChatAction")[0].params["action"] == "typing"


def test_no_answer_says_so_and_names_the_closest_passages(api, start_bot):
    start_bot()
    [reply] = ask(api, PRIVATE, NO_ANSWER_Q)
    assert reply.text.startswith("لم أجد في المستندات إجابة")
    assert 2 <= reply.text.count("• ") <= 3


def test_full_text_and_other_sources_buttons(api, start_bot):
    start_bot()
    [reply] = ask(api, PRIVATE, SPOKESMAN_Q)
    api.press(reply, buttons(reply)["النص الكامل"])
    full = api.wait_messages(PRIVATE, 2)[1]
    assert "سيناقش العمل الجاري بشأن اتفاق" in full.text and "<b><u>ماثيو ميلر</u></b>" in full.html
    api.press(reply, buttons(reply)["مصادر أخرى"])
    more = api.wait_messages(PRIVATE, 3)[2]
    assert more.text.startswith("مصادر أخرى") and "1." in more.text
    assert len(api.calls_of("answerCallbackQuery")) == 2


def test_votes_are_stored_once_per_user_with_a_hashed_chat_id(api, start_bot, tmp_path):
    start_bot()
    [reply] = ask(api, PRIVATE, SPOKESMAN_Q)
    api.press(reply, buttons(reply)["👍"])
    api.wait_until(lambda: len(api.calls_of("answerCallbackQuery")) == 1)
    api.press(reply, buttons(reply)["👎"])  # a second vote by the same user is not recorded
    api.wait_until(lambda: len(api.calls_of("answerCallbackQuery")) == 2)
    api.wait_until(lambda: api.calls_of("editMessageReplyMarkup"))
    assert "👍 ✓" in buttons(api.message(reply.message_id))
    [vote] = FeedbackStore(feedback_path(tmp_path / "data")).entries()
    assert vote["vote"] == "up" and vote["question"] == SPOKESMAN_Q and vote["answer"] == "ماثيو ميلر"
    assert vote["citation"]["doc_id"] == "003_d15b74a03d651d6f" and vote["citation"]["quote"] == "ماثيو ميلر"
    assert str(PRIVATE) not in vote["chat"] and len(vote["chat"]) == 16 and vote["time"].endswith("Z")
    answers = [c.params.get("text", "") for c in api.calls_of("answerCallbackQuery")]
    assert answers == [handlers.THANKS, handlers.ALREADY_VOTED]


def test_an_expired_or_unknown_button_gets_a_polite_answer(api, start_bot):
    start_bot(telegram_button_ttl=0.3)
    [reply] = ask(api, PRIVATE, SPOKESMAN_Q)
    time.sleep(0.4)
    api.press(reply, buttons(reply)["النص الكامل"])
    api.press(reply, "full:no-such-key")
    calls = api.wait_until(lambda: len(c := api.calls_of("answerCallbackQuery")) == 2 and c)
    assert all(c.params["text"] == handlers.EXPIRED_BUTTON for c in calls)
    settle(api)
    assert len(api.messages_to(PRIVATE)) == 1


def test_html_in_a_question_is_escaped(api, start_bot):
    start_bot()
    [reply] = ask(api, PRIVATE, "<b>من</b> & <script>alert(1)</script>؟")
    # The stand-in refuses HTML Telegram cannot parse, so a reply at all means it was escaped.
    assert "<script>" not in reply.html
    [echo] = ask(api, PRIVATE, "<i>")  # no letters: the Arabic message for it, escaped
    assert "<i>" not in echo.html and echo.text


def test_help_about_non_text_and_unknown_commands(api, start_bot):
    start_bot()
    [help_] = ask(api, PRIVATE, "/help")
    assert "/ask" in help_.text
    [about] = ask(api, PRIVATE, "/about")
    assert "المستندات: \u20685\u2069" in about.text and "المقاطع:" in about.text and "rules" in about.text
    assert "تاريخ بناء الفهرس: \u20682" in about.text
    [hint] = ask(api, PRIVATE, None, sticker={"file_id": "s1", "file_unique_id": "u1", "width": 512,
                                                "height": 512, "is_animated": False, "is_video": False, "type": "regular"})
    assert hint.text == handlers.NOT_TEXT
    [unknown] = ask(api, PRIVATE, "/nosuchcommand")
    assert unknown.text == handlers.UNKNOWN_COMMAND


def test_groups_answer_only_mentions_replies_and_ask(api, start_bot):
    start_bot()
    group = -100123
    kw = {"chat_type": "group", "user_id": 77}
    api.user_message(group, SPOKESMAN_Q, **kw)  # not addressed to the bot: ignored
    [by_mention] = ask(api, group, f"@sanad_test_bot {SPOKESMAN_Q}", **kw)
    assert "ماثيو ميلر" in by_mention.text and by_mention.reply_to is not None
    [by_reply] = ask(api, group, "متى وصل بلينكن إلى تل أبيب؟", reply_to=by_mention.message_id, **kw)
    assert "مساء الأحد" in by_reply.text  # the rule reader's answer to this other question
    [by_command] = ask(api, group, f"/ask {SPOKESMAN_Q}", **kw)
    assert "ماثيو ميلر" in by_command.text
    settle(api)
    assert len(api.messages_to(group)) == 3


def test_rate_limit_and_allow_list(api, start_bot):
    start_bot(telegram_rate_limit=2, telegram_allowed_chats=[PRIVATE, 5])
    ask(api, PRIVATE, SPOKESMAN_Q)
    ask(api, PRIVATE, SPOKESMAN_Q)
    [limited] = ask(api, PRIVATE, SPOKESMAN_Q)
    assert "الحد المسموح" in limited.text and "ماثيو" not in limited.text
    [refused] = ask(api, 999, SPOKESMAN_Q)
    assert refused.text == handlers.NOT_ALLOWED


def test_reload_is_for_admins_and_answers_go_on_meanwhile(api, start_bot, monkeypatch):
    import qa.pipeline

    real_build = qa.pipeline.build_index

    def slow_build(*args: object, **kwargs: object):
        time.sleep(1.0)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(qa.pipeline, "build_index", slow_build)
    start_bot()
    [refused] = ask(api, 31, "/reload")
    assert refused.text == handlers.ADMINS_ONLY
    [started] = ask(api, PRIVATE, "/reload")
    assert "جارٍ إعادة بناء الفهرس" in started.text
    [answer] = ask(api, 32, SPOKESMAN_Q)  # while the index is being rebuilt
    assert "ماثيو ميلر" in answer.text
    assert len(api.messages_to(PRIVATE)) == 1  # the rebuild has not finished yet
    [done] = api.wait_messages(PRIVATE, 2)[1:]
    assert "تمت إعادة بناء الفهرس" in done.text and "\u206836\u2069" in done.text


def test_a_failing_handler_apologises_and_logs_the_traceback(api, start_bot, rules_pipeline, caplog):
    pipeline = rules_pipeline()

    def broken(question: str, top_k: int | None = None):
        raise RuntimeError("reader exploded")

    pipeline.ask = broken  # type: ignore[method-assign]
    start_bot(pipeline)
    [apology] = ask(api, PRIVATE, SPOKESMAN_Q)
    assert apology.text == handlers.APOLOGY
    assert "RuntimeError: reader exploded" in caplog.text and "Traceback" in caplog.text


def test_the_token_never_reaches_the_logs(api, start_bot, caplog):
    caplog.set_level(logging.DEBUG)
    thread = start_bot()
    caplog.set_level(logging.DEBUG, logger="httpx")  # even with request logging on, as a debugging user might
    ask(api, PRIVATE, SPOKESMAN_Q)
    api.fail("sendMessage", 1, status=500)
    ask(api, PRIVATE, SPOKESMAN_Q)
    thread.stop()
    assert "/bot<redacted>/" in caplog.text  # the URLs were logged, and redacted
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


def test_webhook_mode_checks_the_secret_token(api, make_settings, make_bot_settings, rules_pipeline):
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot_settings = make_bot_settings(
        telegram_webhook_url=f"http://127.0.0.1:{port}/sanad-hook",
        telegram_webhook_plain_http=True,  # the stand-in calls it on this machine, over plain HTTP
        telegram_webhook_port=port,
        telegram_webhook_secret="s3cret-value",
    )
    application = build_application(make_settings(), bot_settings, rules_pipeline())
    thread = BotThread(application, bot_settings, webhook=True).start()
    try:
        [registered] = api.calls_of("setWebhook")
        assert registered.params["secret_token"] == "s3cret-value"

        def post(update_id: int, secret: str) -> int:
            body = json.dumps({"update_id": update_id, **api.message_update(PRIVATE, SPOKESMAN_Q)}).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/sanad-hook", body,
                {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return response.status
            except urllib.error.HTTPError as err:
                return err.code

        assert post(500, "wrong") == 403
        assert post(501, "s3cret-value") == 200
        assert post(501, "s3cret-value") == 200  # Telegram redelivering: answered once all the same
        [reply] = api.wait_messages(PRIVATE, 1)
        assert "ماثيو ميلر" in reply.text
        settle(api)
        assert len(api.messages_to(PRIVATE)) == 1
    finally:
        thread.stop()
