"""Signed pass codes: the text inside a pass QR code.

A code uses only characters of the QR alphanumeric set (upper-case letters, digits, ``$%*+-./:``
and space) so the QR stays small and every keyboard-wedge scanner types it correctly:

    rotating (phone screens):  K1R:<kid>:<pass id>:<time step>:<tag>
    static (paper, exemption): K1S:<kid>:<pass id>:<tag>
    visitor (one visit, today): K1V:<kid>:<visit id>:<tag>

Pass ids and time steps are base 36; the tag is the first 100 bits of HMAC-SHA256 over everything
before it, in base 32 (20 characters). Codes are verified before any database lookup; anything
that is not a valid code for this deployment verifies to ``None`` and never raises.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

MAX_CODE_LENGTH = 64
TAG_CHARS = 20  # 100 bits of base32
ROTATING = "R"
STATIC = "S"
VISITOR = "V"
_PREFIX = "K1"
_KID_RE = re.compile(r"^[A-Z0-9]{1,4}$")
_CODE_RE = re.compile(
    r"^K1(?P<form>[RSV]):(?P<kid>[A-Z0-9]{1,4}):(?P<pid>[0-9A-Z]{1,13})"
    r"(?::(?P<step>[0-9A-Z]{1,13}))?:(?P<tag>[A-Z2-7]{20})$"
)

Form = Literal["R", "S", "V"]


class PassKeyError(ValueError):
    """The pass key configuration is unusable."""


@dataclass(frozen=True)
class PassKeys:
    """The signing key (first) and every key still accepted for verification."""

    signing_kid: str
    keys: Mapping[str, bytes]

    @classmethod
    def parse(cls, spec: str) -> PassKeys:
        """Parse ``"KID:secret,KID2:secret2"``; the first key signs, all of them verify."""
        keys: dict[str, bytes] = {}
        first = None
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            kid, sep, secret = part.partition(":")
            kid = kid.strip().upper()
            if not sep or not _KID_RE.match(kid):
                raise PassKeyError(f"pass key id {kid!r} must be 1-4 letters or digits")
            if len(secret) < 16:
                raise PassKeyError(f"pass key {kid!r} must have a secret of at least 16 characters")
            if kid in keys:
                raise PassKeyError(f"pass key id {kid!r} appears twice")
            keys[kid] = secret.encode()
            first = first or kid
        if first is None:
            raise PassKeyError("no pass key configured")
        return cls(signing_kid=first, keys=keys)


@dataclass(frozen=True)
class VerifiedCode:
    """What a code says once its signature is checked."""

    pass_id: int  # the visit id for visitor codes
    form: Form
    kid: str
    step: int | None


def _b36(n: int) -> str:
    if n < 0:
        raise ValueError("negative")
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _tag(secret: bytes, body: str) -> str:
    mac = hmac.new(secret, body.encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(mac[:15]).decode("ascii")[:TAG_CHARS]


def time_step(unix_seconds: float, step_seconds: int) -> int:
    """The rotation step that a moment falls in."""
    return int(unix_seconds // step_seconds)


def sign(keys: PassKeys, pass_id: int, form: Form, step: int | None = None) -> str:
    """Make the code for a pass: rotating codes need the time step they are valid for."""
    kid = keys.signing_kid
    if form == ROTATING:
        if step is None:
            raise ValueError("a rotating code needs a time step")
        body = f"{_PREFIX}{form}:{kid}:{_b36(pass_id)}:{_b36(step)}"
    elif form in (STATIC, VISITOR):
        body = f"{_PREFIX}{form}:{kid}:{_b36(pass_id)}"
    else:
        raise ValueError(f"unknown code form {form!r}")
    return f"{body}:{_tag(keys.keys[kid], body)}"


def verify(
    keys: PassKeys, text: object, unix_seconds: float, step_seconds: int, skew_steps: int = 1
) -> VerifiedCode | None:
    """Check a scanned text; ``None`` for anything that is not a valid, current code."""
    if not isinstance(text, str) or len(text) > MAX_CODE_LENGTH + 4 or not text.isascii():
        return None
    # Scanners add trailing CR/LF or spaces; some type lower case (caps lock). ASCII is checked
    # first: str.upper() maps some non-ASCII letters to ASCII ones ("ſ" -> "S").
    text = text.strip().upper()
    if len(text) > MAX_CODE_LENGTH:
        return None
    m = _CODE_RE.match(text)
    if m is None:
        return None
    secret = keys.keys.get(m["kid"])
    if secret is None:
        return None
    form = m["form"]
    step_text = m["step"]
    if (form == ROTATING) != (step_text is not None):
        return None
    body, _, tag = text.rpartition(":")
    if not hmac.compare_digest(_tag(secret, body), tag):
        return None
    pid_text = m["pid"]
    if len(pid_text) > 1 and pid_text[0] == "0":
        return None  # one canonical spelling per pass id
    step = None
    if step_text is not None:
        if len(step_text) > 1 and step_text[0] == "0":
            return None
        step = int(step_text, 36)
        if abs(step - time_step(unix_seconds, step_seconds)) > skew_steps:
            return None
    return VerifiedCode(pass_id=int(pid_text, 36), form=form, kid=m["kid"], step=step)
