"""Build the python-telegram-bot Application for Sanad, and run it by polling or by webhook."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from urllib.parse import urlparse

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot import handlers
from bot.callbacks import CallbackStore
from bot.credentials import BotConfigError, bot_endpoint
from bot.db import Database, database_path
from bot.delivery import RetryingRateLimiter
from bot.feedback import Feedback, move_old_votes
from bot.limits import AllowList, RateLimiter
from bot.logsafe import redact_in_logs
from bot.outbox import Outbox, OutboxSender
from bot.settings import BotSettings
from bot.state import STATE_KEY, AnswerService, BotState, SeenUpdates
from bot.updates import TolerantBot
from qa.commands.common import quiet_http_logs
from qa.config import Settings
from qa.feedback import FeedbackStore, feedback_path
from qa.pipeline import Pipeline

log = logging.getLogger(__name__)

# python-telegram-bot's own default: stop cleanly on Ctrl-C, `kill` and abort.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)

# Asked by the example buttons of /start when the corpus answers them (checked at startup).
EXAMPLE_QUESTIONS = (
    "من هو المتحدث باسم وزارة الخارجية الأمريكية؟",
    "متى وصل بلينكن إلى تل أبيب؟",
    "من هو وزير الخارجية الأمريكي؟",
)
ALLOWED_UPDATES = (Update.MESSAGE, Update.CALLBACK_QUERY)
NON_TEXT = (
    filters.Sticker.ALL
    | filters.PHOTO
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.ANIMATION
    | filters.Document.ALL
    | filters.LOCATION
    | filters.CONTACT
)


class SanadApplication(Application):
    """The Application, which says once why the Bot API cannot be reached while its start is retried.

    python-telegram-bot retries a failed start (getMe) forever with bootstrap_retries=-1, but logs the
    failures at DEBUG only: without this, a closed port or a wrong host looks like a bot that hangs.
    """

    __slots__ = ("api_url", "_unreachable")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.api_url = ""  # for the messages (bot.base_url would hold the token)
        self._unreachable = False

    async def initialize(self) -> None:
        try:
            await super().initialize()
        except NetworkError as err:  # timeouts too; a refused token (InvalidToken) stops the start instead
            if not self._unreachable:
                self._unreachable = True
                log.warning(
                    "Cannot reach the Bot API at %s (%s). Is the server running, and is SANAD_TELEGRAM_API_URL "
                    "right? Retrying until it answers (Ctrl+C to stop).", self.api_url, err,
                )  # fmt: skip
            raise
        if self._unreachable:
            log.warning("The Bot API at %s answers now.", self.api_url)


def build_application(settings: Settings, bot_settings: BotSettings, pipeline: Pipeline | None = None) -> Application:
    """The Application, handlers registered; the pipeline loads in post_init (or `pipeline` is used)."""
    endpoint = bot_endpoint(bot_settings)
    secrets = [endpoint.token]
    if bot_settings.telegram_webhook_secret:
        secrets.append(bot_settings.telegram_webhook_secret.get_secret_value())
    redact_in_logs(*secrets)
    quiet_http_logs()  # also when the bot is built outside the CLI

    timeout = bot_settings.telegram_request_timeout

    async def post_init(application: Application) -> None:
        await load_state(application, settings, bot_settings, pipeline)

    async def post_stop(application: Application) -> None:
        state: BotState | None = application.bot_data.get(STATE_KEY)
        if state is not None:
            await state.sender.stop()

    async def post_shutdown(application: Application) -> None:
        state: BotState | None = application.bot_data.get(STATE_KEY)
        if state is not None:
            state.service.close()
            state.db.close()
            state.feedback.store.close()

    def request(pool: int) -> HTTPXRequest:
        return HTTPXRequest(connection_pool_size=pool, read_timeout=timeout, write_timeout=timeout,
                            connect_timeout=timeout, pool_timeout=timeout)

    # A Bot of our own (rather than the builder's) to skip updates the library cannot parse (bot/updates.py).
    bot = TolerantBot(
        token=endpoint.token,
        base_url=endpoint.base_url,
        base_file_url=endpoint.base_file_url,
        # Sends may queue for a free connection under load rather than fail at once.
        request=request(64),
        get_updates_request=request(2),
        rate_limiter=RetryingRateLimiter(bot_settings.telegram_send_attempts, bot_settings.telegram_messages_per_second),
        defaults=Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)),
    )
    application = (
        ApplicationBuilder()
        .application_class(SanadApplication)
        .bot(bot)
        .concurrent_updates(True)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    application.api_url = endpoint.base_url
    add_handlers(application)
    return application


def add_handlers(application: Application) -> None:
    private_or_group = filters.UpdateType.MESSAGE  # edits of old questions are not asked again
    application.add_handler(TypeHandler(Update, handlers.guard), group=-1)
    application.add_handler(TypeHandler(Update, handlers.handled), group=1)
    application.add_handler(CommandHandler("start", handlers.start, filters=private_or_group))
    application.add_handler(CommandHandler("help", handlers.help_command, filters=private_or_group))
    application.add_handler(CommandHandler("about", handlers.about, filters=private_or_group))
    application.add_handler(CommandHandler("ask", handlers.ask_command, filters=private_or_group))
    application.add_handler(CommandHandler("reload", handlers.reload_command, filters=private_or_group))
    application.add_handler(CallbackQueryHandler(handlers.button))
    application.add_handler(MessageHandler(filters.COMMAND & private_or_group, handlers.unknown_command))
    application.add_handler(MessageHandler(filters.TEXT & private_or_group, handlers.text_message))
    # A photo (or any file) with a caption: the caption is the question, as text is.
    application.add_handler(MessageHandler(filters.CAPTION & private_or_group, handlers.text_message))
    application.add_handler(MessageHandler(NON_TEXT & private_or_group, handlers.other_message))
    application.add_error_handler(handlers.on_error)


async def load_state(
    application: Application, settings: Settings, bot_settings: BotSettings, pipeline: Pipeline | None = None
) -> BotState:
    """Open the index and reader (in a thread: it may build the index) and keep them in bot_data."""
    if pipeline is None:
        notices: list[str] = []
        pipeline = await asyncio.to_thread(Pipeline.from_settings, settings, notices)
        for notice in notices:
            log.warning(notice)
    salt = bot_settings.telegram_feedback_salt or bot_settings.telegram_bot_token
    db = Database(database_path(settings.data_dir))
    votes = FeedbackStore(feedback_path(settings.data_dir))
    await asyncio.to_thread(move_old_votes, db, votes)
    outbox = Outbox(db)
    sender = OutboxSender(outbox, application.bot, bot_settings.reply_max_age,
                          bot_settings.telegram_retry_first_delay, bot_settings.telegram_retry_max_delay)  # fmt: skip
    state = BotState(
        settings=settings,
        bot_settings=bot_settings,
        service=AnswerService(pipeline, bot_settings.telegram_max_concurrent_reads),
        db=db,
        callbacks=CallbackStore(db, bot_settings.telegram_button_ttl),
        feedback=Feedback(votes, salt.get_secret_value() if salt else "sanad"),
        rate=RateLimiter(db, bot_settings.telegram_rate_limit),
        allowed=AllowList(bot_settings.telegram_allowed_chats),
        outbox=outbox,
        sender=sender,
        seen=SeenUpdates(db),
        examples=await asyncio.to_thread(answerable_examples, pipeline),
    )
    sender.start()  # replies left pending by the last run go out now
    application.bot_data[STATE_KEY] = state
    log.info(
        "Sanad bot @%s ready: %d documents, %d passages, reader %s",
        application.bot.username, len(pipeline.index.documents), len(pipeline.index.passages), pipeline.reader.name,
    )
    return state


def answerable_examples(pipeline: Pipeline, candidates: Sequence[str] = EXAMPLE_QUESTIONS) -> list[str]:
    """The example questions this corpus answers: a button that leads to "no answer" invites nobody."""
    kept = []
    for question in candidates:
        try:
            if pipeline.ask(question).found:
                kept.append(question)
        except Exception:  # an example is a nicety; a failing one is dropped, not fatal
            log.exception("example question %r failed", question)
    return kept


def run_polling(
    application: Application, settings: BotSettings, stop_signals: Sequence[int] | None = STOP_SIGNALS
) -> None:
    """Poll for updates until stopped; getUpdates errors are retried forever, with backoff.

    `stop_signals` None: no signal handlers, as a thread other than the main one cannot install them.
    """
    application.run_polling(
        timeout=settings.telegram_poll_timeout,
        # Negative: keep retrying getMe/deleteWebhook while the API is down (a bad token still stops it).
        bootstrap_retries=-1,
        allowed_updates=list(ALLOWED_UPDATES),
        drop_pending_updates=False,
        close_loop=False,
        stop_signals=stop_signals,
    )


def run_webhook(
    application: Application, settings: BotSettings, stop_signals: Sequence[int] | None = STOP_SIGNALS
) -> None:
    """Serve Telegram's webhook calls; the secret token header is checked on each of them."""
    url = settings.telegram_webhook_url or ""
    plain_http = settings.telegram_webhook_plain_http and url.startswith("http://")
    if not url.startswith("https://") and not plain_http:
        raise BotConfigError(
            f"The webhook URL must be public HTTPS (Telegram calls it); got {url!r}. "
            "A local Bot API server may call http:// with SANAD_TELEGRAM_WEBHOOK_PLAIN_HTTP=true."
        )
    if settings.telegram_webhook_secret is None:
        raise BotConfigError("A webhook needs a secret token (--secret-token or SANAD_TELEGRAM_WEBHOOK_SECRET).")
    application.run_webhook(
        listen=settings.telegram_webhook_listen,
        port=settings.telegram_webhook_port,
        url_path=urlparse(url).path.lstrip("/"),
        webhook_url=url,
        secret_token=settings.telegram_webhook_secret.get_secret_value(),
        bootstrap_retries=-1,
        allowed_updates=list(ALLOWED_UPDATES),
        drop_pending_updates=False,
        close_loop=False,
        stop_signals=stop_signals,
    )
