"""A logged traceback shows the code that failed, never much of the data it failed on."""

from __future__ import annotations

import logging
import sys

from kling_gateway.logs import MAX_EXCEPTION_TEXT, JsonFormatter, TextFormatter


def _record_of_a_failure_quoting(data: str) -> logging.LogRecord:
    try:
        raise ValueError(f"cannot store {data}")
    except ValueError:
        return logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())


def test_each_exception_message_in_a_traceback_is_cut_short():
    body = '{"prompt":"' + "p" * 5000 + '"}'
    record = _record_of_a_failure_quoting(body)
    for formatter in (JsonFormatter(), TextFormatter()):
        text = formatter.format(record)
        assert "ValueError: cannot store" in text and "_record_of_a_failure_quoting" in text
        assert "p" * (MAX_EXCEPTION_TEXT + 1) not in text
        assert "characters)" in text
