"""The page's 👍/👎: one vote per client address and answer, in the votes file every front end shares
(qa.feedback), so `sanad feedback export` writes them beside the bot's."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from qa.feedback import FeedbackStore, Vote, feedback_path, install_salt, voter_hash

FRONT_END = "web"


class WebVotes:
    """The votes file, opened at the first vote (a server nobody votes on writes nothing)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._opened: tuple[FeedbackStore, bytes] | None = None
        self._lock = threading.Lock()

    def record(self, client: str, vote: dict[str, Any]) -> bool:
        """Blocking (SQLite), so call it from a thread."""
        with self._lock:
            if self._opened is None:
                self._opened = FeedbackStore(feedback_path(self.data_dir)), install_salt(self.data_dir)
        store, salt = self._opened
        return record_vote(store, salt, client, vote)

    def close(self) -> None:
        with self._lock:
            if self._opened is not None:
                self._opened[0].close()
                self._opened = None


def record_vote(store: FeedbackStore, salt: bytes, client: str, vote: dict[str, Any]) -> bool:
    """Store the page's vote from `client` (its address); False when that client voted on that answer already.

    The answer is named by what the page shows of it.
    """
    shown = [vote.get(name) for name in ("question", "answer", "doc_id", "passage_id")]
    answer_key = hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode("utf-8")).hexdigest()[:24]
    citation = {name: vote[name] for name in ("doc_id", "passage_id") if vote.get(name) is not None} or None
    return store.record(
        Vote(front_end=FRONT_END, answer_key=answer_key, voter=voter_hash(salt, client), question=vote["question"],
             answer=vote.get("answer"), citation=citation, score=vote.get("score"), reader=vote.get("reader"),
             vote=vote["vote"])
    )  # fmt: skip
