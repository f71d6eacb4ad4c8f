"""The page's 👍/👎 votes, appended as JSON Lines to `web_feedback.jsonl` in the data directory (SANAD_DATA_DIR),
beside the bot's database (whose votes `sanad feedback export` writes; the page's are not in it yet)."""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

WEB_FEEDBACK_FILE = "web_feedback.jsonl"


def record_vote(path: Path, vote: dict[str, Any]) -> dict[str, Any]:
    """Append one vote as a line of its own, marked as the web's; blocking, so call it from a thread.

    The one place the web stores votes: the lead may move it, and the bot's, to another store.
    """
    entry = {"front_end": "web", **vote, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND and one write per line, under flock as the bot does, so lines never interleave even
    # when the bot and the server append to the same file at once.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        written = 0
        while written < len(line):
            written += os.write(fd, line[written:])
    finally:
        os.close(fd)  # closing releases the lock
    return entry
