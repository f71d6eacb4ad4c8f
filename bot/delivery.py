"""Delivering requests through Telegram faults: 429s wait `retry_after`, 5xx/timeouts/dropped connections back off."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

# Sent once, without retries here: a "typing…" that fails is not worth a retry (or a wait) that would
# delay the answer; the start-up calls are retried forever by python-telegram-bot's bootstrap loop
# (bootstrap_retries=-1), and a quick first failure lets the bot say why it cannot start.
NOT_RETRIED = frozenset({"sendChatAction", "getMe", "deleteWebhook", "setWebhook"})
# Messages are retried by the outbox (bot/outbox.py), which keeps them across restarts and for minutes,
# not seconds: here they get only the throttle and the 429 handling.
OUTBOX_METHODS = frozenset({"sendMessage"})


class RetryingRateLimiter(AIORateLimiter):
    """python-telegram-bot's rate limiter (throttling, 429 handling) plus retries of transient faults.

    It wraps every Bot API call except getUpdates, whose own loop in the Updater already retries
    forever with backoff, so polling outlives an API outage.
    """

    def __init__(
        self,
        attempts: int = 5,
        messages_per_second: float = 30.0,
        first_delay: float = 0.5,
        max_delay: float = 8.0,
    ) -> None:
        # 429s are retried by AIORateLimiter itself, honouring retry_after and pausing all sends meanwhile.
        super().__init__(overall_max_rate=messages_per_second, overall_time_period=1, max_retries=attempts)
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint in NOT_RETRIED:
            return await callback(*args, **kwargs)
        if endpoint in OUTBOX_METHODS:
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        delay = self.first_delay
        for attempt in range(1, self.attempts + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except (BadRequest, RetryAfter):
                # A bad request fails the same way every time; a 429 already had its retries.
                raise
            except NetworkError as err:  # 5xx, timeouts, refused or dropped connections
                if attempt == self.attempts:
                    log.warning("%s failed %d times, giving up: %s", endpoint, attempt, err)
                    raise
                # A timeout may hide a request the server did process; resending an edit or a button's
                # answer twice is harmless.
                pause = min(self.max_delay, delay) * random.uniform(0.8, 1.2)
                log.info("%s failed (%s); retry %d of %d in %.1f s", endpoint, err, attempt, self.attempts - 1, pause)
                await asyncio.sleep(pause)
                delay *= 2
        raise AssertionError("unreachable")
