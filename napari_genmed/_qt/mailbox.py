"""A one-slot mailbox where the latest request wins.

Interactive controls (a latent slider) fire far faster than a model decodes. The
GUI ``put``s every request; the decoding thread ``take``s whatever is newest, so
stale requests are dropped and the last one is always served. Written here (a
dozen lines) because ``queue.Queue`` has no replace-the-pending-item operation.
"""

from __future__ import annotations

import threading
from typing import Any


class LatestOnly:
    def __init__(self):
        self._cond = threading.Condition()
        self._item: Any = None
        self._full = False
        self.put_count = 0  #: requests made
        self.take_count = 0  #: requests served (the rest were superseded)

    def put(self, item: Any) -> None:
        """Leave ``item``, replacing any request not yet taken."""
        with self._cond:
            self._item, self._full = item, True
            self.put_count += 1
            self._cond.notify()

    def take(self, timeout: float) -> Any | None:
        """The newest request, waiting up to ``timeout`` seconds; None if none came."""
        with self._cond:
            if not self._full:
                self._cond.wait(timeout)
            if not self._full:
                return None
            item, self._item, self._full = self._item, None, False
            self.take_count += 1
            return item

    @property
    def pending(self) -> bool:
        with self._cond:
            return self._full
