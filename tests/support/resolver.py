"""A resolver answering from a table, so that callback URL checks need no DNS in tests."""

from __future__ import annotations

import socket


class FakeResolver:
    """``(host, port) -> addresses`` like ``getaddrinfo``, from ``answers``; a name not in it
    does not resolve. A test re-points a name by changing ``answers`` (DNS rebinding)."""

    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.answers = dict(answers or {})
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.answers[host])
