"""Keep secrets (the bot token) out of every log record, whichever logger or handler writes it."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable

REDACTED = "<redacted>"

_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


def redact_in_logs(*secrets: str) -> None:
    """Replace each of `secrets` by <redacted> in all log messages and tracebacks from now on.

    A record factory rather than a handler filter: it also covers handlers added later (pytest's
    caplog, a library's own handler), and python-telegram-bot logs the API URL, token included, at DEBUG.
    """
    global _installed
    with _lock:
        _secrets.update(s for s in secrets if s)
        if _installed:
            return
        _installed = True
        previous = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_redacting_factory(previous))


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _redacting_factory(previous: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if not _secrets:
            return record
        try:
            record.msg = redact(record.getMessage())
            record.args = None
        except Exception:  # a malformed format string: leave it for logging to report
            return record
        if record.exc_info and record.exc_info[0] is not None:
            # Formatters reuse exc_text when it is set, so the traceback is redacted once, here.
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    return factory
