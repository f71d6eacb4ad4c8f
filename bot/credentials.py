"""The bot token and Bot API URLs from the settings, checked before anything connects."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from bot.settings import BotSettings

# BotFather tokens are "<bot id>:<secret>"; self-hosted test servers accept short ones like 123:abc.
TOKEN_PATTERN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")


class BotConfigError(ValueError):
    """A setting the bot cannot start with; the message says what to do (and never holds the token)."""


@dataclass(frozen=True)
class BotEndpoint:
    token: str
    base_url: str
    base_file_url: str


def bot_endpoint(settings: BotSettings) -> BotEndpoint:
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
    if not api_url_looks_right(base_url):
        raise BotConfigError(
            "SANAD_TELEGRAM_API_URL must be an http(s) URL ending in /bot, to which the token is appended, "
            f"like https://api.telegram.org/bot or http://127.0.0.1:8081/bot; got {base_url!r}."
        )
    return BotEndpoint(secret, base_url, settings.telegram_file_api_url or file_url_for(base_url))


def api_url_looks_right(base_url: str) -> bool:
    """An http(s) URL with a host and a valid port whose path ends in /bot (or holds python-telegram-bot's {token})."""
    if not re.match(r"^https?://", base_url):
        return False
    try:
        parsed = urlparse(base_url.replace("{token}", "TOKEN"))
        parsed.port  # noqa: B018  (raises ValueError for a port that is not a number in range)
    except ValueError:
        return False
    return bool(parsed.hostname) and ("{token}" in base_url or parsed.path.endswith("/bot"))


def file_url_for(base_url: str) -> str:
    """python-telegram-bot's file URL beside `base_url`: https://host/bot -> https://host/file/bot."""
    for marker in ("/bot{token}", "/bot"):
        head, found, tail = base_url.rpartition(marker)
        if found and (marker == "/bot{token}" or not tail):
            return f"{head}/file{marker}{tail}"
    return base_url
