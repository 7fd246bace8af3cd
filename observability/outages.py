"""Outages of a dependency (the database, the shared cache) logged as outages: one warning when
the process first meets one, one a minute while it lasts, one when the dependency answers again
— not a line, let alone a traceback, for every request that fails meanwhile. Per process: each
gunicorn worker reports what it sees.
"""

from __future__ import annotations

import logging
import threading
import time


class OutageLog:
    """`failed(exc)` on each failure that means "unavailable", `answered()` once it works again.

    The messages take the dependency's state: `started` gets the exception's class name,
    `lasting` the seconds so far and the class name, `ended` the seconds it lasted.
    """

    def __init__(
        self, logger: logging.Logger, *, started: str, lasting: str, ended: str,
        log_every: float = 60.0,
    ) -> None:  # fmt: skip
        self.logger = logger
        self.messages = (started, lasting, ended)
        self.log_every = log_every
        self.started_at: float | None = None
        self.logged_at = 0.0
        self._lock = threading.Lock()  # threaded workers share it

    @property
    def ongoing(self) -> bool:
        return self.started_at is not None

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            if self.started_at is None:
                self.started_at = self.logged_at = now
                message, arguments = self.messages[0], (type(exc).__name__,)
            elif now - self.logged_at >= self.log_every:
                self.logged_at = now
                message, arguments = self.messages[1], (now - self.started_at, type(exc).__name__)
            else:
                return
        self.logger.warning(message, *arguments)

    def answered(self) -> None:
        if self.started_at is None:  # the usual case: no lock, one attribute read
            return
        with self._lock:
            if self.started_at is None:
                return
            lasted, self.started_at = time.monotonic() - self.started_at, None
        self.logger.warning(self.messages[2], lasted)
