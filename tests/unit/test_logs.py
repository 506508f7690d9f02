"""The log formatters: JSON lines with the request's fields, and redaction as the last defence."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from kling_gateway import logs
from kling_gateway.web.access import path_template

JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhazEyMyIsImV4cCI6MTcwMDAwMDAwMH0."
       "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
API_KEY = "kg-Jr4mYw0GqV7m1v3cR0pXo8ZkP2bH9sL5tN6uQ1eA2Dc"
IMAGE = "iVBORw0KGgoAAAANSUhEUgAAAUAAAAFACAIAAABC8jL9" * 10


def record(message: str, *args: object, fields: dict | None = None,
           exc_info: object = None) -> logging.LogRecord:
    made = logging.LogRecord("kling_gateway.test", logging.WARNING, __file__, 1, message, args,
                             exc_info)
    if fields is not None:
        made.fields = fields
    return made


@pytest.mark.parametrize(("text", "gone"), [
    (f"Authorization: Bearer {API_KEY}", API_KEY),
    (f"bearer {JWT}", JWT),
    (f"token {JWT} rejected", JWT.split(".")[1]),
    (f"unknown key {API_KEY}", API_KEY),
    ("{'secret_key': 'f00dfeed0123456789abcdef01234567'}", "f00dfeed0123456789abcdef01234567"),
    ("callback_secret=Zq9-uX_28aLmNo3p&x=1", "Zq9-uX_28aLmNo3p"),
    ('"password": "hunter2"', "hunter2"),
    (f"image={IMAGE[:300]}", IMAGE[:100]),
    (f'{{"image": "{IMAGE}"}}', IMAGE[100:200]),
    # short text, which only a clue in it sends through the patterns (logs._CLUES)
    ("jwt eyJhbGciOiJ.eyJpc3MiOiJ.c2ln", "eyJpc3MiOiJ"),
    ("kga-0123456789abcdefXYZ", "0123456789abcdefXYZ"),
    ("ACCESS-KEY: AKxyz", "AKxyz"),
    ("Api_Key=abc123", "abc123"),
    ("passwd=hunter2", "hunter2"),
    ("Authorization: Basic dXNlcjpwdw==", "dXNlcjpwdw=="),
    ("admin_token='t0p'", "t0p"),
])
def test_redact_removes_credentials_and_base64(text, gone):
    assert gone not in logs.redact(text)


def test_redact_keeps_ordinary_text_and_ids():
    text = ("task 1795975965076456149 of token_id=3 on channel sim: "
            "https://cdn.example.com/videos/2a4c9e1f-8b3d-4f6a-b5c7-1e9d2f4a6b8c.mp4")
    assert logs.redact(text) == text


def test_json_lines_carry_the_request_fields_and_the_record_fields():
    formatter = logs.JsonFormatter()
    with logs.request_fields() as fields:
        fields["request_id"] = "r-1"
        logs.note(user="ada", task_id=None)  # None is not a fact
        line = json.loads(formatter.format(record("sent %s", "it", fields={"status": 200})))
    assert line["message"] == "sent it" and line["level"] == "WARNING"
    assert line["logger"] == "kling_gateway.test" and line["time"].endswith("+00:00")
    assert (line["request_id"], line["user"], line["status"]) == ("r-1", "ada", 200)
    assert "task_id" not in line


def test_note_outside_a_request_does_nothing():
    logs.note(user="nobody")
    assert logs.current_fields() == {}


def test_json_redacts_messages_fields_and_tracebacks():
    try:
        raise ValueError(f"bad header Bearer {API_KEY}")
    except ValueError:
        exc_info = sys.exc_info()
    made = record("calling with %s", {"Authorization": f"Bearer {JWT}"},
                  fields={"body": IMAGE, "nested": [f"key {API_KEY}"]}, exc_info=exc_info)
    text = logs.JsonFormatter().format(made)
    assert "\n" not in text
    for secret in (API_KEY, JWT, IMAGE[:100]):
        assert secret not in text
    assert "ValueError" in json.loads(text)["exception"]


def test_text_lines_are_redacted_too():
    formatter = logs.TextFormatter(logs.TEXT_FORMAT)
    text = formatter.format(record("login with %s", API_KEY, fields={"path": "/v1/x"}))
    assert API_KEY not in text and "path=/v1/x" in text


def test_configure_refuses_an_unknown_format():
    with pytest.raises(ValueError, match="json, text"):
        logs.configure("yaml")


@pytest.mark.parametrize(("path", "params", "template"), [
    ("/kling/v1/videos/text2video/123", {"id": "123"}, "/kling/v1/videos/text2video/{id}"),
    ("/kling-gateway/callbacks/77/s3cr3t", {"task_id": "77", "secret": "s3cr3t"},
     "/kling-gateway/callbacks/{task_id}/{secret}"),
    ("/admin/v1/users/v1/tokens", {"name": "v1"}, "/admin/v1/users/{name}/tokens"),
    ("/healthz", {}, "/healthz"),
])
def test_path_templates_hide_the_parameters(path, params, template):
    assert path_template(path, params) == template
