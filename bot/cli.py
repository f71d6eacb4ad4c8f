"""`sanad bot` (the Telegram bot, polling or webhook); plugged into `sanad` by entry point."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys

from pydantic import SecretStr

from qa.commands.common import add_corpus_options, add_reader_options, flag_overrides, settings_from

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bot", help="run the Telegram bot | تشغيل بوت تيليجرام")
    add_corpus_options(parser)
    add_reader_options(parser)
    parser.add_argument("--webhook-url", help="public HTTPS URL Telegram posts updates to (default: polling)")
    parser.add_argument("--listen", help="address the webhook server listens on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port the webhook server listens on (default: 8443)")
    parser.add_argument("--secret-token", help="value Telegram must send in X-Telegram-Bot-Api-Secret-Token "
                        "(default: SANAD_TELEGRAM_WEBHOOK_SECRET, else a random one)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from telegram.error import InvalidToken

    from bot.app import build_application, run_polling, run_webhook
    from bot.credentials import BotConfigError
    from bot.settings import load_bot_settings

    settings = settings_from(args)  # the shared ones: corpus, index, reader, data folder
    bot_settings = load_bot_settings(*flag_overrides({
        "telegram_webhook_url": ("--webhook-url", args.webhook_url),
        "telegram_webhook_listen": ("--listen", args.listen),
        "telegram_webhook_port": ("--port", args.port),
        "telegram_webhook_secret": ("--secret-token", SecretStr(args.secret_token) if args.secret_token else None),
    }))  # fmt: skip
    if bot_settings.telegram_webhook_url and bot_settings.telegram_webhook_secret is None:
        # Telegram echoes this secret in a header on each call, so strangers cannot post fake updates.
        bot_settings = bot_settings.model_copy(update={"telegram_webhook_secret": SecretStr(secrets.token_urlsafe(32))})
    try:
        application = build_application(settings, bot_settings)
        if bot_settings.telegram_webhook_url:
            print(f"sanad bot: webhook at {bot_settings.telegram_webhook_url}, listening on "
                  f"{bot_settings.telegram_webhook_listen}:{bot_settings.telegram_webhook_port}", file=sys.stderr)
            run_webhook(application, bot_settings)
        else:
            print("sanad bot: polling for messages (Ctrl+C to stop)", file=sys.stderr)
            run_polling(application, bot_settings)
    except BotConfigError as err:
        print(f"sanad bot: {err}", file=sys.stderr)
        return 2
    except InvalidToken as err:  # the server answered, and refused: a wrong token, or not a Bot API there
        print(f"sanad bot: the Bot API at {bot_settings.telegram_api_url} refused the token ({err}). Check "
              "TELEGRAM_BOT_TOKEN and SANAD_TELEGRAM_API_URL.", file=sys.stderr)  # fmt: skip
        return 2
    return 0
