"""👍/👎 votes appended to a JSON Lines file: one whole line per write, so concurrent appends never interleave."""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import threading
import time
from pathlib import Path

from qa.types import Answer


class FeedbackLog:
    """Appends votes; chat ids are stored as keyed hashes so the file does not identify users."""

    def __init__(self, path: Path, salt: str) -> None:
        self.path = path
        self._salt = salt.encode("utf-8")
        self._lock = threading.Lock()

    def chat_hash(self, chat_id: int) -> str:
        return hmac.new(self._salt, str(chat_id).encode("ascii"), hashlib.sha256).hexdigest()[:16]

    def record(self, chat_id: int, answer: Answer, vote: str) -> dict[str, object]:
        """Append one vote ("up" or "down") on `answer`; blocking, so call it from a thread."""
        entry: dict[str, object] = {
            "chat": self.chat_hash(chat_id),
            "question": answer.question,
            "answer": answer.text,
            "doc_id": answer.citations[0].doc_id if answer.citations else None,
            "score": round(float(answer.score), 6),
            "reader": answer.reader,
            "vote": vote,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND puts each write at the end of the file; the thread lock and flock keep one line
        # per write even across processes (several bot instances sharing the file).
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    written = 0
                    while written < len(line):
                        written += os.write(fd, line[written:])
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        return entry
