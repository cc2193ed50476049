"""Encryption at rest for personal fields, and keyed hashes to look them up.

Values are encrypted with Fernet (AES-128-CBC with HMAC-SHA256) under the keys in
``FIELD_ENCRYPTION_KEYS``: the first encrypts, all decrypt, so keys rotate without a
flag day. Equality search uses an HMAC-SHA256 of the normalized value under its own key
(``FIELD_HASH_KEY``), so the database never holds the plain value.
"""

import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import models


@functools.lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(text: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()


def keyed_hash(text: str) -> str:
    key = settings.FIELD_HASH_KEY.encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text field stored encrypted; Python code sees the plain value."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
