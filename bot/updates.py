"""Fetching updates so that one the library cannot parse is logged once and skipped, not retried forever.

python-telegram-bot parses a getUpdates batch as a whole: one update it cannot read fails the batch,
its Updater logs CRITICAL and asks again at once for the same batch (the offset cannot move), about
every 50 ms, and the other updates of that batch are never handled.
"""

from __future__ import annotations

import datetime as dtm
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram.ext import ExtBot

log = logging.getLogger(__name__)


class TolerantBot(ExtBot[None]):
    """An ExtBot whose get_updates parses each update alone and stands an empty one in for a bad one."""

    __slots__ = ("_skipped",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._skipped: set[int] = set()

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: int | dtm.timedelta | None = None,
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: Any = DEFAULT_NONE,
        write_timeout: Any = DEFAULT_NONE,
        connect_timeout: Any = DEFAULT_NONE,
        pool_timeout: Any = DEFAULT_NONE,
        api_kwargs: dict[str, Any] | None = None,
    ) -> tuple[Update, ...]:
        # As Bot.get_updates: the long poll's own timeout is added to the read timeout.
        base = self._request[0].read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        poll = timeout.total_seconds() if isinstance(timeout, dtm.timedelta) else (timeout or 0)
        data = {"timeout": timeout, "offset": offset, "limit": limit, "allowed_updates": allowed_updates}
        result = await self._post(
            "getUpdates", data, read_timeout=(base or 0) + poll, write_timeout=write_timeout,
            connect_timeout=connect_timeout, pool_timeout=pool_timeout, api_kwargs=api_kwargs,
        )  # fmt: skip
        updates = []
        for raw in result or []:
            update = self._parse(raw)
            if update is not None:
                self.insert_callback_data(update)
                updates.append(update)
        return tuple(updates)

    def _parse(self, raw: Any) -> Update | None:
        try:
            return Update.de_json(raw, self)
        except Exception as err:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int):
                log.error("an update without an update_id was skipped: %r", raw)
                return None
            if update_id not in self._skipped:
                self._skipped.add(update_id)
                log.error("update %d cannot be read (%s: %s); skipped", update_id, type(err).__name__, err)
            # An empty update with its id moves the offset past it; no handler acts on it.
            return Update(update_id)
