"""Constants and helpers the bot's end-to-end tests share (their fixtures are in tests/bot/conftest.py)."""

from __future__ import annotations

import time

from tests.support.standin import BotAPIStandIn, Sent

TOKEN = "123456:TEST-token_abcdefghijklmnopq"
SPOKESMAN_Q = "من هو المتحدث باسم وزارة الخارجية الأمريكية؟"
NO_ANSWER_Q = "ما هي عاصمة البرازيل؟"
PRIVATE = 4242


def buttons(sent: Sent) -> dict[str, str]:
    """Button text -> callback data."""
    return {b["text"]: b["callback_data"] for row in (sent.reply_markup or {}).get("inline_keyboard", []) for b in row}


def ask(api: BotAPIStandIn, chat: int, text: str, count: int = 1, **kw: object) -> list[Sent]:
    before = len(api.messages_to(chat))
    api.user_message(chat, text, **kw)
    return api.wait_messages(chat, before + count, timeout=10)[before:]


def settle(api: BotAPIStandIn, seconds: float = 0.4) -> None:
    """Give the bot time to (wrongly) send more; the stand-in is polled by then."""
    time.sleep(seconds)
