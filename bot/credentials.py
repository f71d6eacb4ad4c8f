"""The bot token and Bot API URLs from the settings, checked before anything connects."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.config import Settings

# BotFather tokens are "<bot id>:<secret>"; self-hosted test servers accept short ones like 123:abc.
TOKEN_PATTERN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")


class BotConfigError(ValueError):
    """A setting the bot cannot start with; the message says what to do (and never holds the token)."""


@dataclass(frozen=True)
class BotEndpoint:
    token: str
    base_url: str
    base_file_url: str


def bot_endpoint(settings: Settings) -> BotEndpoint:
    """The token and the Bot API URLs, or BotConfigError saying what to fix."""
    secret = settings.telegram_bot_token.get_secret_value().strip() if settings.telegram_bot_token else ""
    if not secret:
        raise BotConfigError(
            "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather in Telegram, then "
            "export TELEGRAM_BOT_TOKEN=<the token it gives you> (or put it in .env)."
        )
    if not TOKEN_PATTERN.match(secret):
        raise BotConfigError(
            f"TELEGRAM_BOT_TOKEN does not look like a bot token ({len(secret)} characters): it should be "
            "digits, a colon, then letters, digits, '_' or '-', as BotFather gives it, with no quotes or spaces."
        )
    base_url = settings.telegram_api_url.strip()
    if not re.match(r"^https?://", base_url):
        raise BotConfigError(
            f"SANAD_TELEGRAM_API_URL must be an http(s) URL ending in /bot, like https://api.telegram.org/bot; got {base_url!r}."
        )
    return BotEndpoint(secret, base_url, settings.telegram_file_api_url or file_url_for(base_url))


def file_url_for(base_url: str) -> str:
    """python-telegram-bot's file URL beside `base_url`: https://host/bot -> https://host/file/bot."""
    for marker in ("/bot{token}", "/bot"):
        head, found, tail = base_url.rpartition(marker)
        if found and (marker == "/bot{token}" or not tail):
            return f"{head}/file{marker}{tail}"
    return base_url
