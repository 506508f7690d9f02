"""Standard Webhooks signatures, as the gateway signs its callbacks to clients."""

from __future__ import annotations

import base64
import hashlib
import hmac

from kling_gateway.worker import webhooks

SECRET = "9c2e7b4f1a8d3c6e0b5f2a9d7c4e1b8f"
MESSAGE_ID = "1722769557708042137-2"
TIMESTAMP = 1722769560
BODY = b'{"task_id":"1722769557708042137","task_status":"processing"}'


def headers(signature: str, timestamp: int = TIMESTAMP) -> dict[str, str]:
    return {"webhook-id": MESSAGE_ID, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature}


def test_signature_is_base64_hmac_sha256_of_id_timestamp_and_body():
    signed = b"1722769557708042137-2.1722769560." + BODY
    digest = hmac.new(SECRET.encode(), signed, hashlib.sha256).digest()
    assert webhooks.sign(SECRET, MESSAGE_ID, TIMESTAMP, BODY) == \
        "v1," + base64.b64encode(digest).decode()


def test_signature_of_a_fixed_vector():
    # computed by hand (printf 'msg_1.1700000000.{"a":1}' | openssl dgst -sha256 -hmac
    # whsec-test -binary | base64), so a change of the scheme cannot go unnoticed
    assert webhooks.sign("whsec-test", "msg_1", 1700000000, b'{"a":1}') == \
        "v1,JheLhC+XazWfKczPdtdCd7wKbDI4biXb3hLSiqCNQBU="


def test_the_secret_is_used_as_utf8_text():
    digest = hmac.new("密钥".encode(), b"m.1.x", hashlib.sha256).digest()
    assert webhooks.sign("密钥", "m", 1, b"x") == "v1," + base64.b64encode(digest).decode()


def test_own_signature_verifies_with_any_header_case():
    signature = webhooks.sign(SECRET, MESSAGE_ID, TIMESTAMP, BODY)
    assert webhooks.verify(SECRET, headers(signature), BODY, now=TIMESTAMP + 10)
    upper = {name.title(): value for name, value in headers(signature).items()}
    assert webhooks.verify(SECRET, upper, BODY, now=TIMESTAMP)


def test_one_matching_signature_among_several_is_enough():
    good = webhooks.sign(SECRET, MESSAGE_ID, TIMESTAMP, BODY)
    rotated = webhooks.sign("old-secret", MESSAGE_ID, TIMESTAMP, BODY)
    assert webhooks.verify(SECRET, headers(f"{rotated} {good}"), BODY, now=TIMESTAMP)
    assert not webhooks.verify(SECRET, headers(rotated), BODY, now=TIMESTAMP)


def test_tampered_body_id_or_wrong_secret_fails():
    signature = webhooks.sign(SECRET, MESSAGE_ID, TIMESTAMP, BODY)
    tampered = BODY.replace(b"processing", b"succeed")
    assert not webhooks.verify(SECRET, headers(signature), tampered, now=TIMESTAMP)
    assert not webhooks.verify("another-secret", headers(signature), BODY, now=TIMESTAMP)
    other_id = {**headers(signature), "webhook-id": "1722769557708042137-3"}
    assert not webhooks.verify(SECRET, other_id, BODY, now=TIMESTAMP)


def test_old_or_future_timestamp_fails():
    signature = webhooks.sign(SECRET, MESSAGE_ID, TIMESTAMP, BODY)
    assert webhooks.verify(SECRET, headers(signature), BODY, now=TIMESTAMP + 300)
    assert not webhooks.verify(SECRET, headers(signature), BODY, now=TIMESTAMP + 301)
    assert not webhooks.verify(SECRET, headers(signature), BODY, now=TIMESTAMP - 301)
    assert webhooks.verify(SECRET, headers(signature), BODY, now=TIMESTAMP + 3000,
                           tolerance=3600)


def test_missing_or_malformed_headers_fail():
    signature = webhooks.sign(SECRET, MESSAGE_ID, TIMESTAMP, BODY)
    for missing in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        partial = {k: v for k, v in headers(signature).items() if k != missing}
        assert not webhooks.verify(SECRET, partial, BODY, now=TIMESTAMP), missing
    for timestamp in ("", "soon", "-5", "1.5", "²"):
        odd = {**headers(signature), "webhook-timestamp": timestamp}
        assert not webhooks.verify(SECRET, odd, BODY, now=TIMESTAMP), timestamp
    unversioned = signature.removeprefix("v1,")
    assert not webhooks.verify(SECRET, headers(unversioned), BODY, now=TIMESTAMP)
