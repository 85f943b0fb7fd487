"""What a notification's HTTP request came to: an answer (`Outcome`) or a `TransportError`.

Apart from `notifications.http`, which sends, so that the transports can name them without
loading `requests`: only the process that delivers notifications needs it (about 5 MB).
"""

from __future__ import annotations

from dataclasses import dataclass


class TransportError(Exception):
    """A send that did not succeed. `permanent` errors are not retried."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status_code: int | None = None,
        retry_after: float | None = None,
        excerpt: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status_code = status_code
        self.retry_after = retry_after
        self.excerpt = excerpt


@dataclass
class Outcome:
    """A successful answer."""

    status_code: int | None
    excerpt: str | None = None
