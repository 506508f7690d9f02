"""Secret columns encrypted at rest: channel and token secret keys (API keys stay hashed).

A stored value is ``enc:v1:<Fernet token>`` (AES-128-CBC + HMAC-SHA256, from ``cryptography``);
a value without the prefix is a row written in clear (before a key was configured) and is read
as it is until ``kling-gateway admin rotate-secret-key`` encrypts it.

``KLING_GATEWAY_SECRET_KEY`` is either a Fernet key (44 URL-safe base64 characters, e.g. from
``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``),
used as it is, or any other string of at least 32 characters, from which HKDF-SHA256 derives
the Fernet key. ``KLING_GATEWAY_OLD_SECRET_KEYS`` (comma-separated, same format) still decrypt
during a rotation; new values are always written with ``KLING_GATEWAY_SECRET_KEY``.

Without ``KLING_GATEWAY_SECRET_KEY`` the gateway runs in development mode: secrets are written
in clear and the gateway and the worker log a warning at start-up.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from peewee import Cast, Model, TextField, Value

from kling_gateway.config import Settings
from kling_gateway.domain.errors import InternalError
from kling_gateway.storage.db import write_transaction

log = logging.getLogger(__name__)

PREFIX = "enc:v1:"
MIN_KEY_LENGTH = 32
_HKDF_INFO = b"kling-gateway secrets at rest v1"
IN_CLEAR_WARNING = ("KLING_GATEWAY_SECRET_KEY is not set: channel and token secret keys are "
                    "stored IN CLEAR in the database (development mode). Set it in production "
                    "(README: 'Secrets at rest').")
_LEGACY = ("a channel or token secret key is stored in clear although KLING_GATEWAY_SECRET_KEY "
           "is set: run 'kling-gateway admin rotate-secret-key' to encrypt it")


class SecretKeyError(InternalError):
    """The configured keys cannot encrypt or decrypt a stored secret (5000 to an API client)."""


def fernet_key(text: str, *, name: str = "KLING_GATEWAY_SECRET_KEY") -> bytes:
    """The Fernet key for a configured string: itself if it is one, else HKDF-SHA256 of it."""
    text = text.strip()
    try:
        if len(text) == 44 and len(base64.urlsafe_b64decode(text)) == 32:
            return text.encode()
    except (binascii.Error, ValueError):
        pass
    if len(text) < MIN_KEY_LENGTH:
        raise SecretKeyError(f"{name} must be a Fernet key or at least {MIN_KEY_LENGTH} "
                             "random characters")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=_HKDF_INFO).derive(text.encode())
    return base64.urlsafe_b64encode(derived)


@dataclass(frozen=True)
class Keyring:
    """The current key (writes) and every key that may still decrypt (reads)."""

    keys: tuple[bytes, ...] = ()
    """Fernet keys, the current one first; empty: development mode, secrets in clear."""

    @property
    def key_id(self) -> str | None:
        """A short public fingerprint of the current key, for logs and the rotate command."""
        return hashlib.sha256(b"key-id:" + self.keys[0]).hexdigest()[:8] if self.keys else None

    def encrypt(self, plain: str) -> str:
        if not self.keys:
            return plain
        return PREFIX + Fernet(self.keys[0]).encrypt(plain.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if self.keys and not stored.startswith(PREFIX):
            _warn_legacy_once()
        return self.open(stored)

    def open(self, stored: str) -> str:
        """The plaintext of a stored value, clear or encrypted, without warnings."""
        if not stored.startswith(PREFIX):
            return stored
        if not self.keys:
            raise SecretKeyError("the database holds encrypted secrets but "
                                 "KLING_GATEWAY_SECRET_KEY is not set")
        try:
            return MultiFernet([Fernet(k) for k in self.keys]).decrypt(
                stored[len(PREFIX):].encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                "cannot decrypt a stored secret: it was encrypted with a key that is neither "
                "KLING_GATEWAY_SECRET_KEY nor one of KLING_GATEWAY_OLD_SECRET_KEYS") from None

    def is_current(self, stored: str) -> bool:
        """Whether ``stored`` is already encrypted with the current key."""
        if not (self.keys and stored.startswith(PREFIX)):
            return False
        try:
            Fernet(self.keys[0]).decrypt(stored[len(PREFIX):].encode())
        except InvalidToken:
            return False
        return True


_keyring = Keyring()
_legacy_warned = False


def _warn_legacy_once() -> None:
    global _legacy_warned
    if not _legacy_warned:
        _legacy_warned = True
        log.warning(_LEGACY)


def configure_keyring(settings: Settings, *, quiet: bool = False) -> Keyring:
    """Set the process-wide keyring from the settings; called wherever the database is opened
    (app, worker, CLI). Without a key it warns that secrets are stored in clear, unless
    ``quiet`` (the admin CLI, whose output is its answer). Raises ``SecretKeyError`` for a
    malformed key."""
    global _keyring
    if settings.old_secret_keys and not settings.secret_key:
        raise SecretKeyError("KLING_GATEWAY_OLD_SECRET_KEYS needs KLING_GATEWAY_SECRET_KEY")
    keys: list[bytes] = []
    if settings.secret_key:
        keys.append(fernet_key(settings.secret_key))
        keys += [fernet_key(old, name="KLING_GATEWAY_OLD_SECRET_KEYS")
                 for old in settings.old_secret_keys]
    _keyring = Keyring(tuple(dict.fromkeys(keys)))
    if _keyring.key_id:
        log.debug("secrets at rest: encrypted with key %s", _keyring.key_id)
    elif not quiet:
        log.warning(IN_CLEAR_WARNING)
    return _keyring


def current_keyring() -> Keyring:
    return _keyring


class EncryptedTextField(TextField):
    """Text encrypted with the process-wide keyring on write and decrypted on read.

    ``max_length`` is the longest plaintext the services accept (the column is TEXT)."""

    def __init__(self, *args: Any, max_length: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_length = max_length

    def db_value(self, value: str | None) -> str | None:
        return None if value is None else _keyring.encrypt(value)

    def python_value(self, value: str | None) -> str | None:
        return None if value is None else _keyring.decrypt(value)


@dataclass(frozen=True)
class Rotation:
    reencrypted: int
    """Values written again with the current key (they were in clear or under an old key)."""
    current: int
    """Values already encrypted with the current key, left as they were."""
    key_id: str


def rotate_secrets(models: Iterable[type[Model]] | None = None) -> Rotation:
    """Re-encrypt every encrypted column with the current key, in one transaction: all or
    nothing. Idempotent: values already under the current key are not touched."""
    keyring = _keyring
    if not keyring.keys:
        raise SecretKeyError("set KLING_GATEWAY_SECRET_KEY to the new key (and "
                             "KLING_GATEWAY_OLD_SECRET_KEYS to the previous ones) to rotate")
    if models is None:
        from kling_gateway.storage.models import TABLES  # models import this module

        models = TABLES
    reencrypted = current = 0
    with write_transaction():
        for model in models:
            for field in model._meta.sorted_fields:
                if isinstance(field, EncryptedTextField):
                    done, kept = _rotate_column(keyring, model, field)
                    reencrypted, current = reencrypted + done, current + kept
    return Rotation(reencrypted, current, keyring.key_id or "")


def _rotate_column(keyring: Keyring, model: type[Model], field: EncryptedTextField,
                   ) -> tuple[int, int]:
    primary = model._meta.primary_key
    rows = model.select(primary, Cast(field, "TEXT")).where(field.is_null(False)).tuples()
    done = kept = 0
    for row_id, stored in rows:
        if keyring.is_current(stored):
            kept += 1
            continue
        try:
            fresh = keyring.encrypt(keyring.open(stored))
        except SecretKeyError as exc:
            raise SecretKeyError(f"{model._meta.table_name}.{field.column_name} of row "
                                 f"{row_id}: {exc.message}") from None
        # only if nobody wrote the row since we read it (a newer value is already current)
        done += (model.update({field: Value(fresh, converter=False)})
                 .where((primary == row_id) & (field == Value(stored, converter=False)))
                 .execute())
    return done, kept
