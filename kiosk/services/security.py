"""Hashes and tokens: passwords, personal numbers and bearer tokens are never stored in clear."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def check_password(stored: str, password: str) -> bool:
    return check_password_hash(stored, password)


# A hash to compare against when the user does not exist, so timing does not tell.
_DUMMY_HASH = None


def dummy_password_check(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(8))
    check_password_hash(_DUMMY_HASH, password)


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """Tokens are high-entropy random strings, so a plain SHA-256 is enough to store them."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def normalise_id_number(value: str) -> str:
    # NFKC: a Chinese input method types full-width "１１０…Ｘ"; it is the same number.
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


def normalise_phone(value: str) -> str:
    # Any decimal digit counts (full-width "１３８…" too), spelled in ASCII so equal numbers hash equal.
    digits = "".join(str(unicodedata.decimal(ch)) for ch in value if ch.isdecimal())
    return digits[-11:] if len(digits) > 11 and digits.startswith("86") else digits


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 under the deployment's ID_HASH_KEY: equal inputs match, nothing is reversible."""
    key = current_app.config["ID_HASH_KEY"].encode()
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
