"""What can go wrong talking to Kling, sorted by what it means for the task.

    UpstreamError
    ├── UpstreamRefused      Kling answered with an error envelope: the task was not created
    │                        (a 5xx answer is treated as UpstreamAmbiguous instead)
    ├── UpstreamUnreachable  the request never left (DNS, connection refused): not created
    └── UpstreamAmbiguous    sent, but no usable answer (timeout, reset, 5xx, garbage): the task
                             may or may not exist upstream

``requests`` exceptions are translated into these in ``client.py`` and nowhere else.
"""

from __future__ import annotations


class UpstreamError(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class UpstreamRefused(UpstreamError):
    """An official error answer: ``code`` and ``status`` are Kling's own."""

    def __init__(self, code: int, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status

    def __repr__(self) -> str:
        return f"UpstreamRefused(code={self.code}, status={self.status}, message={self.message!r})"


class UpstreamUnreachable(UpstreamError):
    pass


class UpstreamAmbiguous(UpstreamError):
    """``code``/``status`` are set when Kling answered a 5xx envelope."""

    def __init__(self, message: str, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
