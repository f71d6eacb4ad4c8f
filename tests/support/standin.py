"""A small in-process Bot API stand-in on 127.0.0.1: for the tests and for trying the bot without Telegram.

It speaks enough of the Bot API for python-telegram-bot to poll it over real HTTP (getMe, getUpdates
with offsets and long polling, sendMessage, sendChatAction, answerCallbackQuery, editMessage*), checks
what Telegram checks (HTML that parses, 4096 characters, 64-byte callback data), and can inject faults
(429 with retry_after, 5xx, slow replies, dropped connections). Run it alone: python -m tests.support.standin.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER = {"id": 7000001, "is_bot": True, "first_name": "Sanad", "username": "sanad_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
TELEGRAM_HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
                      "a", "code", "pre", "blockquote", "tg-emoji"}
MESSAGE_METHODS = {"sendMessage", "editMessageText"}


@dataclass
class Fault:
    """How the next `count` calls of `method` fail: an HTTP status, a delay, or a dropped connection."""

    method: str
    count: int
    status: int = 500
    retry_after: int | None = None
    delay: float = 0.0
    drop: bool = False
    # Drop the connection after the call took effect (the message is stored): Telegram accepted it, the
    # bot never heard. Recorded with status -2 (a plain drop is 0).
    drop_after: bool = False


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200


@dataclass
class Sent:
    """A message the bot sent (or edited), as the stand-in stored it."""

    message_id: int
    chat_id: int
    html: str
    text: str
    reply_markup: dict[str, Any] | None
    reply_to: int | None
    at: float
    edits: list[str] = field(default_factory=list)


class BotAPIStandIn:
    """The server and its state; all methods are thread-safe."""

    def __init__(self, token: str, port: int = 0, max_poll: float = 2.0) -> None:
        self.token = token
        self.max_poll = max_poll  # cap on long polls, so shutdowns are quick
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update = 1
        self._next_message = 1
        self._faults: list[Fault] = []
        self._lock = threading.Condition()
        self._server = _QuietServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="bot-api-standin", daemon=True)

    # -- lifecycle ----------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What SANAD_TELEGRAM_API_URL is set to."""
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> BotAPIStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._lock.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> BotAPIStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what users do --------------------------------------------------------------------------------

    def user_message(self, chat_id: int, text: str | None = None, *, user_id: int | None = None,
                     chat_type: str = "private", reply_to: int | None = None, **extra: Any) -> int:
        """Queue a message from a user (text, or `extra` fields such as sticker=…); its update id."""
        return self._push(self.message_update(chat_id, text, user_id=user_id, chat_type=chat_type,
                                              reply_to=reply_to, **extra))

    def message_update(self, chat_id: int, text: str | None = None, *, user_id: int | None = None,
                       chat_type: str = "private", reply_to: int | None = None, **extra: Any) -> dict[str, Any]:
        """The update (without its update_id) of a user's message, as Telegram would deliver it."""
        user = {"id": user_id or abs(chat_id), "is_bot": False, "first_name": "مستخدم", "language_code": "ar"}
        chat = {"id": chat_id, "type": chat_type}
        chat.update({"first_name": "مستخدم"} if chat_type == "private" else {"title": "مجموعة"})
        message: dict[str, Any] = {"message_id": self._message_id(), "date": int(time.time()),
                                   "chat": chat, "from": user, **extra}
        if text is not None:
            message["text"] = text
            entities = _entities(text)
            if entities:
                message["entities"] = entities
        if extra.get("caption") and _entities(extra["caption"]):
            message["caption_entities"] = _entities(extra["caption"])
        if reply_to is not None:
            replied = self.message(reply_to)
            message["reply_to_message"] = {"message_id": reply_to, "date": int(replied.at), "chat": chat,
                                           "from": BOT_USER, "text": replied.text}
        return {"message": message}

    def press(self, sent: Sent, data: str, *, user_id: int | None = None) -> int:
        """Queue a press on one of `sent`'s inline buttons (by its callback data); its update id."""
        chat = {"id": sent.chat_id, "type": "private" if sent.chat_id > 0 else "group"}
        user = {"id": user_id or abs(sent.chat_id), "is_bot": False, "first_name": "مستخدم"}
        query = {"id": f"q{self._next_update}", "from": user, "chat_instance": str(sent.chat_id), "data": data,
                 "message": {"message_id": sent.message_id, "date": int(sent.at), "chat": chat,
                             "from": BOT_USER, "text": sent.text}}
        return self._push({"callback_query": query})

    def fail(self, method: str, count: int = 1, **how: Any) -> None:
        """The next `count` calls of `method` fail as `how` says (status, retry_after, delay, drop, drop_after)."""
        with self._lock:
            self._faults.append(Fault(method, count, **how))

    def recover(self) -> None:
        """Forget every fault still to come: the API is back."""
        with self._lock:
            self._faults.clear()

    def raw_update(self, update: dict[str, Any]) -> int:
        """Queue an update exactly as given (it may be one the bot cannot parse); its update id."""
        return self._push(update)

    # -- what the bot did ------------------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[Sent]:
        with self._lock:
            return [m for m in self.sent if m.chat_id == chat_id]

    def message(self, message_id: int) -> Sent:
        with self._lock:
            return next(m for m in self.sent if m.message_id == message_id)

    def calls_of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_until(self, condition: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Block until `condition()` is truthy (re-checked on each request); its value, or TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                value = condition()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s")
                self._lock.wait(min(left, 0.05))

    def wait_messages(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[Sent]:
        return self.wait_until(lambda: (m := self.messages_to(chat_id)) and len(m) >= count and m, timeout)

    # -- serving ---------------------------------------------------------------------------------------

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | Fault:
        with self._lock:
            fault = self._take_fault(method)
            call = Call(method, params, time.monotonic())
            self.calls.append(call)
            self._lock.notify_all()
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop_after:
                self._answer(method, params)
                call.status = -2
                return fault
            if fault.drop:
                call.status = 0
                return fault
            if fault.status != 200:
                call.status = fault.status
                body: dict[str, Any] = {"ok": False, "error_code": fault.status,
                                        "description": "Too Many Requests" if fault.status == 429 else "Internal Server Error"}
                if fault.retry_after is not None:
                    body["description"] += f": retry after {fault.retry_after}"
                    body["parameters"] = {"retry_after": fault.retry_after}
                return fault.status, body
        status, body = self._answer(method, params)
        call.status = status
        return status, body

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getMe":
            return _ok(BOT_USER)
        if method in {"deleteWebhook", "setWebhook", "sendChatAction", "answerCallbackQuery", "close", "logOut"}:
            return _ok(True)
        if method == "getUpdates":
            return _ok(self._poll(int(params.get("offset") or 0), float(params.get("timeout") or 0)))
        if method in MESSAGE_METHODS | {"editMessageReplyMarkup"}:
            problem = _check_message(params) if method in MESSAGE_METHODS else _check_markup(params.get("reply_markup"))
            if problem:
                return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}
            return _ok(self._store(method, params))
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    def _poll(self, offset: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + min(timeout, self.max_poll)
        with self._lock:
            # As Telegram does: an offset confirms (forgets) every update before it.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
            return list(self._updates[:100])

    def _store(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        markup = params.get("reply_markup")
        with self._lock:
            if method == "sendMessage":
                reply = (params.get("reply_parameters") or {}).get("message_id")
                sent = Sent(self._message_id(), int(params["chat_id"]), params["text"], _visible(params["text"]),
                            markup, reply, time.time())
                self.sent.append(sent)
            else:
                sent = next(m for m in self.sent if m.message_id == int(params["message_id"]))
                if "text" in params:
                    sent.edits.append(sent.html)
                    sent.html, sent.text = params["text"], _visible(params["text"])
                sent.reply_markup = markup
            self._lock.notify_all()
            result = {"message_id": sent.message_id, "date": int(sent.at), "text": sent.text, "from": BOT_USER,
                      "chat": {"id": sent.chat_id, "type": "private" if sent.chat_id > 0 else "group"}}
            if markup:
                result["reply_markup"] = markup
            return result

    def _push(self, update: dict[str, Any]) -> int:
        with self._lock:
            update_id = self._next_update
            self._next_update += 1
            self._updates.append({"update_id": update_id, **update})
            self._lock.notify_all()
            return update_id

    def _message_id(self) -> int:
        with self._lock:
            self._next_message += 1
            return self._next_message

    def _take_fault(self, method: str) -> Fault | None:
        for fault in self._faults:
            if fault.method == method and fault.count > 0:
                fault.count -= 1
                return fault
        return None


class _QuietServer(ThreadingHTTPServer):
    """A client that goes away mid-request (a killed bot, a timeout test) is no error worth a traceback.

    Its listen backlog is Telegram-sized rather than http.server's 5, so 50 chats answered at once do not
    see their connections refused.
    """

    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(standin: BotAPIStandIn) -> type[BaseHTTPRequestHandler]:
    pattern = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>\w+)$")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            match = pattern.match(self.path.split("?", 1)[0])
            if not match:
                return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            if match["token"] != standin.token:
                return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            result = standin.handle(match["method"], _params(raw, self.headers.get("Content-Type", "")))
            if isinstance(result, Fault):  # a dropped connection: no response at all
                self.close_connection = True
                return
            self._reply(*result)

        do_GET = do_POST

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            try:
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout test)
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the request line holds the token

    return Handler


def _params(raw: bytes, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        return json.loads(raw or b"{}")
    params: dict[str, Any] = {}
    for key, values in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items():
        value = values[-1]
        try:  # python-telegram-bot form-encodes objects as JSON strings
            params[key] = json.loads(value) if value[:1] in "[{" or key in {"reply_parameters"} else value
        except ValueError:
            params[key] = value
    return params


def _ok(result: Any) -> tuple[int, dict[str, Any]]:
    return 200, {"ok": True, "result": result}


def _entities(text: str) -> list[dict[str, Any]]:
    entities = []
    for match in re.finditer(r"(?:^/\w+(?:@\w+)?)|(?:@\w+)", text):
        offset = len(text[: match.start()].encode("utf-16-le")) // 2
        length = len(match.group(0).encode("utf-16-le")) // 2
        entities.append({"type": "bot_command" if match.group(0).startswith("/") else "mention",
                         "offset": offset, "length": length})
    return entities


class _TelegramHTML(HTMLParser):
    """Checks HTML the way Telegram's parser does: known tags, properly nested and closed, < > & escaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problem = ""
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_HTML_TAGS:
            self.problem = self.problem or f"can't parse entities: unsupported start tag \"{tag}\""
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problem = self.problem or f"can't parse entities: unmatched end tag \"{tag}\""
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:  # raw, since entities arrive through the two methods below
            self.problem = self.problem or "can't parse entities: unescaped < or >"
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(html.unescape(f"&#{name};"))


def _parse_html(text: str) -> _TelegramHTML:
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.stack and not parser.problem:
        parser.problem = f"can't parse entities: can't find end tag corresponding to start tag \"{parser.stack[-1]}\""
    if re.search(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
        parser.problem = parser.problem or "can't parse entities: unescaped &"
    return parser


def _visible(text: str) -> str:
    return "".join(_parse_html(text).text)


def _check_message(params: dict[str, Any]) -> str:
    text = str(params.get("text", ""))
    if params.get("parse_mode") == "HTML":
        parsed = _parse_html(text)
        if parsed.problem:
            return parsed.problem
        text = "".join(parsed.text)
    if not text.strip():
        return "message text is empty"
    if len(text.encode("utf-16-le")) // 2 > 4096:
        return "message is too long"
    return _check_markup(params.get("reply_markup"))


def _check_markup(markup: Any) -> str:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                return "BUTTON_DATA_INVALID"
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description="A local Bot API stand-in; type messages to the bot on stdin.")
    parser.add_argument("--token", default="123:abc")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--chat", type=int, default=1001)
    args = parser.parse_args()
    with BotAPIStandIn(args.token, args.port) as standin:
        print(f"SANAD_TELEGRAM_API_URL={standin.base_url} TELEGRAM_BOT_TOKEN={args.token}; type a question:")
        shown = 0
        while True:
            try:
                line = input("> ").strip()
            except (EOFError, KeyboardInterrupt):
                break
            if line:
                standin.user_message(args.chat, line)
                try:
                    standin.wait_messages(args.chat, shown + 1, timeout=30)
                except TimeoutError:
                    print("(no reply within 30 s)")
                    continue
                for sent in standin.messages_to(args.chat)[shown:]:
                    print(sent.text, "\n")
                shown = len(standin.messages_to(args.chat))


if __name__ == "__main__":
    main()
