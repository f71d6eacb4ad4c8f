"""Runs the bot's Application in a thread, as `sanad bot` runs it: for tests against the stand-in."""

from __future__ import annotations

import threading
import time
from typing import Any


class BotThread:
    """Runs an Application in a thread of its own, by polling or webhook, exactly as `sanad bot` runs it."""

    def __init__(self, application: Any, settings: Any, webhook: bool = False) -> None:
        self.application = application
        self.settings = settings
        self.webhook = webhook
        self.error: BaseException | None = None
        self._loop: Any = None
        self._thread = threading.Thread(target=self._run, name="sanad-bot", daemon=True)

    def start(self, timeout: float = 120.0) -> BotThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.application.running:
            if self.error is not None or not self._thread.is_alive():
                raise RuntimeError("the bot stopped while starting") from self.error
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bot did not start within {timeout} s")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 60.0) -> None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self.application.stop_running)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the bot did not stop within {timeout} s")

    def _run(self) -> None:
        import asyncio

        from bot.app import run_polling, run_webhook

        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            if self.webhook:
                run_webhook(self.application, self.settings, stop_signals=None)  # not the main thread
            else:
                run_polling(self.application, self.settings, stop_signals=None)
        except BaseException as err:  # reported by start() / the test
            self.error = err
        finally:
            self._loop.close()
