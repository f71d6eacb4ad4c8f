"""The bot's handlers: one small async function per command, button or kind of message."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import replace

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import NetworkError, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import render
from bot.callbacks import callback_data, parse_callback_data
from bot.state import STATE_KEY, BotState
from qa.question import QuestionError
from qa.types import Answer

log = logging.getLogger(__name__)

TYPING_EVERY = 4.0  # seconds; Telegram shows "typing…" for about five
TYPING_GRACE = 1.0  # seconds an answer waits for its typing action to land
EXAMPLE_BUTTONS = 3  # example questions under /start: one tap each, without pushing the welcome off the screen
WELCOME_TITLES = 5  # document titles /start lists: enough to show the range, short enough to read on a phone
_typing_tasks: set[asyncio.Task[None]] = set()

HELP_TEXT = (
    "<b>كيف تستخدم سَنَد</b>\n"
    "• اكتب سؤالك بالعربية وسأبحث عن إجابته في المستندات، وأذكر المصدر مع كل إجابة.\n"
    "• «النص الكامل» يعرض المقطع الذي جاءت منه الإجابة، و«مصادر أخرى» يعرض إجابات مرشحة من مقاطع أخرى.\n"
    "• 👍 و👎 يساعداننا على تحسين الإجابات.\n"
    "• في المجموعات: اذكرني أو رُدّ على رسالتي أو استخدم /ask متبوعًا بسؤالك.\n\n"
    "الأوامر: /start البداية، /help المساعدة، /about عن المستندات، /ask سؤال."
)
NOT_TEXT = "أستطيع قراءة الأسئلة المكتوبة فقط. اكتب سؤالك نصًا بالعربية، مثل: من هو المتحدث باسم وزارة الخارجية الأمريكية؟"
ASK_USAGE = "اكتب سؤالك بعد الأمر، مثل: /ask من هو المتحدث باسم وزارة الخارجية الأمريكية؟"
UNKNOWN_COMMAND = "لا أعرف هذا الأمر. اكتب /help لترى ما أستطيع فعله."
NOT_ALLOWED = "عذرًا، هذا البوت متاح لمحادثات محددة فقط."
ADMINS_ONLY = "هذا الأمر للمشرفين فقط."
EXPIRED_BUTTON = "انتهت صلاحية هذا الزر. اطرح سؤالك من جديد من فضلك."
APOLOGY = "عذرًا، حدث خطأ أثناء معالجة رسالتك. حاول مرة أخرى بعد قليل."
THANKS = "شكرًا لك، سجّلنا رأيك."
ALREADY_VOTED = "سجّلنا رأيك في هذه الإجابة من قبل. شكرًا لك."


def state_of(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    return context.bot_data[STATE_KEY]


async def guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every handler: each update once, and only in allowed chats."""
    state = state_of(context)
    if not state.seen.first_time(update.update_id):
        log.info("update %d seen before; ignored", update.update_id)
        raise ApplicationHandlerStop
    chat = update.effective_chat
    if chat is not None and not state.allowed.allows(chat.id):
        log.info("chat %d is not in the allow-list", chat.id)
        if update.callback_query:
            await update.callback_query.answer(NOT_ALLOWED)
        elif chat.type == ChatType.PRIVATE and update.effective_message:
            reply(update.effective_message, context, NOT_ALLOWED)
        raise ApplicationHandlerStop


async def handled(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs after every handler: the update is recorded as handled (kept across restarts)."""
    state_of(context).seen.done(update.update_id)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: a welcome, what the documents cover, and example questions as buttons."""
    state = state_of(context)
    index = state.service.pipeline.index
    # Only the listed documents are read: the index parses a stored document when it is asked for.
    count = len(index.documents)
    titles = [doc.title or doc.id for doc in itertools.islice(index.documents.values(), WELCOME_TITLES)]
    lines = [
        "أهلًا بك! أنا <b>سَنَد</b>، أجيب عن أسئلتك بالعربية من مجموعة من المستندات، "
        "وأذكر مع كل إجابة مصدرها والمقطع الذي جاءت منه.",
        "",
        f"تغطي المستندات ({render.esc(str(count))}) موضوعات مثل:",
        *(f"• {render.esc(title)}" for title in titles),
    ]
    if count > WELCOME_TITLES:
        lines.append(f"• وغيرها ({render.esc(str(count - WELCOME_TITLES))} مستندات أخرى).")
    lines += ["", "اكتب سؤالك، أو اختر أحد هذه الأسئلة:" if state.examples else "اكتب سؤالك."]
    buttons = [
        [InlineKeyboardButton(question, callback_data=callback_data("ex", str(n)))]
        for n, question in enumerate(state.examples[:EXAMPLE_BUTTONS])
    ]
    reply(update.effective_message, context, "\n".join(lines), InlineKeyboardMarkup(buttons) if buttons else None)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: how to ask, what the buttons do."""
    reply(update.effective_message, context, HELP_TEXT)


async def about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/about: the documents, passages, reader and index date."""
    pipeline = state_of(context).service.pipeline
    built = str(pipeline.index.manifest.get("built_at", "غير معروف")).replace("T", " ").rstrip("Z")
    text = "\n".join(
        [
            "<b>عن سَنَد</b>",
            f"المستندات: {render.esc(str(len(pipeline.index.documents)))}",
            f"المقاطع: {render.esc(str(len(pipeline.index.passages)))}",
            f"القارئ: {render.esc(pipeline.reader.name)}",
            f"تاريخ بناء الفهرس: {render.esc(built)} (UTC)",
        ]
    )
    reply(update.effective_message, context, text)


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask QUESTION: the way to ask in a group without mentioning the bot."""
    question = " ".join(context.args or [])
    if not question.strip():
        reply(update.effective_message, context, ASK_USAGE)
        return
    await respond(update.effective_message, context, question)


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text (or a photo's caption) in a private chat is a question; in a group, only text addressed to the bot."""
    message = update.effective_message
    if message.chat.type == ChatType.PRIVATE:
        await respond(message, context, message.text or message.caption or "")
        return
    question = addressed_question(message, context.bot)
    if question is not None:
        await respond(message, context, question)


async def other_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice…: a hint that questions are read as text."""
    message = update.effective_message
    if message.chat.type == ChatType.PRIVATE or _replies_to_bot(message, context.bot):
        reply(message, context, NOT_TEXT)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not have (only in private chats: group commands may be for other bots)."""
    if update.effective_chat.type == ChatType.PRIVATE:
        reply(update.effective_message, context, UNKNOWN_COMMAND)


async def reload_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload (admins only): rebuild the index from the corpus while the bot keeps answering."""
    state = state_of(context)
    message = update.effective_message
    if update.effective_user is None or update.effective_user.id not in state.bot_settings.telegram_admins:
        reply(message, context, ADMINS_ONLY)
        return
    if state.service.reloading:
        reply(message, context, "إعادة بناء الفهرس جارية بالفعل، انتظر انتهاءها.")
        return
    reply(message, context, "جارٍ إعادة بناء الفهرس… سأستمر في الإجابة أثناء ذلك.")
    pipeline = await state.service.reload(state.settings)
    index = pipeline.index
    reply(
        message,
        context,
        f"تمت إعادة بناء الفهرس: {render.esc(str(len(index.documents)))} مستندات، "
        f"{render.esc(str(len(index.passages)))} مقطعًا."
    )


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on an inline button: an example question, the full passage, other sources, or a vote."""
    query = update.callback_query
    state = state_of(context)
    action, key = parse_callback_data(query.data)
    if action == "ex":
        await query.answer()
        examples = state.examples
        if key.isdigit() and int(key) < len(examples) and query.message is not None:
            await respond(query.message, context, examples[int(key)], user_id=query.from_user.id, quote=False)
        return
    answer = state.callbacks.get(key)
    if answer is None or query.message is None:
        await query.answer(EXPIRED_BUTTON, show_alert=True)
        return
    if action == "full":
        await query.answer()
        reply(query.message, context, render.full_passage_message(answer), quote=False)
    elif action == "more":
        await query.answer()
        others = await state.service.more(answer)
        reply(query.message, context, render.other_sources_message(answer, others), quote=False)
    elif action in ("up", "down"):
        await vote(query, context, answer, action, key)
    else:
        await query.answer(EXPIRED_BUTTON, show_alert=True)


async def vote(query: CallbackQuery, context: ContextTypes.DEFAULT_TYPE, answer: Answer, choice: str, key: str) -> None:
    """Record a 👍/👎 once per user and answer (across restarts too), and mark the choice on the buttons."""
    state = state_of(context)
    recorded = state.feedback.record(key, query.from_user.id, query.message.chat.id, answer, choice)
    if not recorded:
        await query.answer(ALREADY_VOTED)
        return
    await query.answer(THANKS)
    with contextlib.suppress(TelegramError):  # the mark is a courtesy; the vote is already saved
        await query.edit_message_reply_markup(answer_keyboard(key, answer, voted=choice))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler: the traceback to the log, an apology to the user."""
    if update is None and isinstance(context.error, NetworkError):
        # getUpdates failing (an outage, a dropped connection): one line each, polling goes on by itself.
        log.warning("getUpdates failed (%s: %s); polling goes on", type(context.error).__name__, context.error)
        return
    log.error("error while handling update %s", getattr(update, "update_id", "?"), exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query:
            await update.callback_query.answer(APOLOGY, show_alert=True)
        elif update.effective_chat:
            send(context, update.effective_chat.id, APOLOGY)
    except TelegramError as err:  # the API itself is failing: nothing more to tell the user now
        log.warning("could not send the apology: %s", err)


# -- answering ---------------------------------------------------------------------------------------


async def respond(
    message: Message,
    context: ContextTypes.DEFAULT_TYPE,
    question: str,
    user_id: int | None = None,
    quote: bool | None = None,
) -> None:
    """Answer `question` in `message`'s chat: rate limit, typing…, read in a thread, reply with buttons."""
    state = state_of(context)
    user = user_id if user_id is not None else (message.from_user.id if message.from_user else message.chat.id)
    if not state.rate.allow(user):
        wait = max(1, math.ceil(state.rate.retry_in(user)))
        reply(
            message,
            context,
            f"وصلتَ إلى الحد المسموح به من الأسئلة ({render.esc(str(state.rate.limit))} في الدقيقة). "
            f"انتظر {render.esc(str(wait))} ثانية ثم اسأل من جديد، من فضلك."
        )
        return
    async with typing(context.bot, message.chat.id):
        try:
            answer = await state.service.ask(question)
        except QuestionError as err:
            reply(message, context, render.esc(err.message_ar))
            return
        if not answer.found and not answer.citations:  # nothing matched at all: still show passages
            answer = replace(answer, citations=await state.service.more(answer))
    key = state.callbacks.put(answer)
    in_group = message.chat.type != ChatType.PRIVATE
    reply(message, context, render.answer_message(answer, state.service.pipeline.no_answer_threshold), answer_keyboard(key, answer),
          quote=in_group if quote is None else quote, about=question)  # fmt: skip


def reply(
    message: Message,
    context: ContextTypes.DEFAULT_TYPE,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    quote: bool | None = None,
    about: str = "",
) -> None:
    """Queue `text` for `message`'s chat, quoting `message` (by default in groups, where it says whom it answers)."""
    if quote is None:
        quote = message.chat.type != ChatType.PRIVATE
    send(context, message.chat.id, text, markup, message.message_id if quote else None, about)


def send(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
    about: str = "",
) -> None:
    """Put `text` (split to Telegram's length, the buttons on the last part) in the outbox, and wake its sender.

    Stored before it is sent, so that no fault of the API and no restart of the bot loses it.
    """
    state = state_of(context)
    state.outbox.add(chat_id, render.split_message(text), markup.to_dict() if markup else None, reply_to, about=about)
    state.sender.wake()


def answer_keyboard(key: str, answer: Answer, voted: str | None = None) -> InlineKeyboardMarkup:
    rows = []
    if answer.citations:
        rows.append(
            [
                InlineKeyboardButton("النص الكامل", callback_data=callback_data("full", key)),
                InlineKeyboardButton("مصادر أخرى", callback_data=callback_data("more", key)),
            ]
        )
    rows.append(
        [
            InlineKeyboardButton("👍 ✓" if voted == "up" else "👍", callback_data=callback_data("up", key)),
            InlineKeyboardButton("👎 ✓" if voted == "down" else "👎", callback_data=callback_data("down", key)),
        ]
    )
    return InlineKeyboardMarkup(rows)


@contextlib.asynccontextmanager
async def typing(bot: Bot, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends (Telegram clears it after ~5 s, so repeat it)."""
    done = asyncio.Event()

    async def keep_typing() -> None:
        while not done.is_set():
            try:
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            except TelegramError as err:  # a missing indicator must never cost the answer
                log.debug("typing action failed: %s", err)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), TYPING_EVERY)

    task = asyncio.create_task(keep_typing())
    _typing_tasks.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_typing_tasks.discard)
    try:
        yield
    finally:
        done.set()
        # Let an action still in flight land first: arriving after the answer, it would show
        # "typing…" under a finished reply. Bounded, so a slow API never holds the answer back.
        await asyncio.wait({task}, timeout=TYPING_GRACE)


def addressed_question(message: Message, bot: Bot) -> str | None:
    """In a group: the question if the message mentions or replies to the bot, else None."""
    text = message.text or message.caption or ""
    kinds = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
    entities = message.parse_entities(kinds) if message.text else message.parse_caption_entities(kinds)
    username = (bot.username or "").lower()
    mentioned = False
    for entity, value in entities.items():
        if (entity.type == MessageEntity.MENTION and value.lstrip("@").lower() == username) or (
            entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot.id
        ):
            mentioned = True
            text = text.replace(value, " ")
    if mentioned or _replies_to_bot(message, bot):
        return " ".join(text.split())
    return None


def _replies_to_bot(message: Message, bot: Bot) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot.id)
