"""Unit tests for kiosk.domain.passcodes: signing and verifying pass codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kiosk.domain.passcodes import (
    MAX_CODE_LENGTH,
    ROTATING,
    STATIC,
    PassKeyError,
    PassKeys,
    VerifiedCode,
    sign,
    time_step,
    verify,
)

QR_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
STEP_SECONDS = 30
# A moment well inside a 30 s step: step 56_000_000 covers [1_680_000_000, 1_680_000_030).
T0 = 1_680_000_000
STEP0 = T0 // STEP_SECONDS
SECRET_A = "alpha-secret-0123456789"
SECRET_B = "bravo-secret-9876543210"
KEYS_A = PassKeys.parse(f"A:{SECRET_A}")


def forge(secret: str, body: str) -> str:
    """Sign an arbitrary body with the documented algorithm (first 100 bits of HMAC-SHA256, base32)."""
    mac = hmac.new(secret.encode(), body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}:{base64.b32encode(mac[:15]).decode('ascii')[:20]}"


def check(text: object, keys: PassKeys = KEYS_A, at: float = T0) -> VerifiedCode | None:
    return verify(keys, text, at, STEP_SECONDS)


# --- round trips and format ---------------------------------------------------------------


@pytest.mark.parametrize("pass_id", [0, 1, 35, 36, 12345, 10**12])
def test_rotating_round_trip(pass_id):
    code = sign(KEYS_A, pass_id, ROTATING, STEP0)
    assert check(code) == VerifiedCode(pass_id=pass_id, form="R", kid="A", step=STEP0)


@pytest.mark.parametrize("pass_id", [0, 1, 35, 36, 12345, 10**12])
def test_static_round_trip_at_any_time(pass_id):
    code = sign(KEYS_A, pass_id, STATIC)
    expected = VerifiedCode(pass_id=pass_id, form="S", kid="A", step=None)
    assert check(code, at=T0) == expected
    assert check(code, at=0) == expected
    assert check(code, at=T0 + 10 * 365 * 86400) == expected


def test_code_format_matches_documentation():
    # 12345 = "9IX" in base 36.
    assert sign(KEYS_A, 12345, STATIC) == forge(SECRET_A, "K1S:A:9IX")
    step_b36 = "XC9VK"  # 56_000_000 in base 36
    assert int(step_b36, 36) == STEP0
    assert sign(KEYS_A, 12345, ROTATING, STEP0) == forge(SECRET_A, f"K1R:A:9IX:{step_b36}")


@pytest.mark.parametrize(
    ("pass_id", "form", "step"),
    [(0, STATIC, None), (10**12, STATIC, None), (0, ROTATING, 0), (10**12, ROTATING, 10**12)],
)
def test_codes_are_short_and_qr_alphanumeric(pass_id, form, step):
    keys = PassKeys.parse(f"ZZZZ:{SECRET_A}")  # longest key id
    code = sign(keys, pass_id, form, step)
    assert len(code) <= MAX_CODE_LENGTH
    assert set(code) <= set(QR_ALPHANUMERIC)


def test_sign_rotating_without_step_raises():
    with pytest.raises(ValueError):
        sign(KEYS_A, 1, ROTATING)


def test_sign_unknown_form_raises():
    with pytest.raises(ValueError):
        sign(KEYS_A, 1, "X")  # type: ignore[arg-type]


# --- rotating window ----------------------------------------------------------------------


def test_time_step():
    assert time_step(T0, 30) == STEP0
    assert time_step(T0 + 29.999, 30) == STEP0
    assert time_step(T0 + 30, 30) == STEP0 + 1
    assert time_step(T0 - 0.001, 30) == STEP0 - 1


@pytest.mark.parametrize(
    ("at", "accepted"),
    [
        # Two steps before: refused up to the last second of step STEP0 - 2.
        (T0 - 2 * STEP_SECONDS, False),
        (T0 - STEP_SECONDS - 1, False),
        # One step before: accepted from its first second.
        (T0 - STEP_SECONDS, True),
        (T0 - 1, True),
        # The code's own step.
        (T0, True),
        (T0 + STEP_SECONDS - 1, True),
        # One step after: accepted to its last second.
        (T0 + STEP_SECONDS, True),
        (T0 + 2 * STEP_SECONDS - 1, True),
        (T0 + 2 * STEP_SECONDS - 0.001, True),
        # Two steps after: refused from its first second.
        (T0 + 2 * STEP_SECONDS, False),
        (T0 + 3 * STEP_SECONDS, False),
        (T0 + 86400, False),
    ],
)
def test_rotating_window_boundaries(at, accepted):
    code = sign(KEYS_A, 77, ROTATING, STEP0)
    result = check(code, at=at)
    if accepted:
        assert result is not None and result.pass_id == 77 and result.step == STEP0
    else:
        assert result is None


def test_rotating_skew_is_configurable():
    code = sign(KEYS_A, 77, ROTATING, STEP0)
    at = T0 + STEP_SECONDS
    assert verify(KEYS_A, code, at, STEP_SECONDS, skew_steps=0) is None
    assert verify(KEYS_A, code, T0, STEP_SECONDS, skew_steps=0) is not None
    assert verify(KEYS_A, code, T0 + 2 * STEP_SECONDS, STEP_SECONDS, skew_steps=2) is not None


# --- keys and rotation --------------------------------------------------------------------


def test_parse_first_key_signs_and_all_verify():
    keys = PassKeys.parse(f" b : {SECRET_B} , A:{SECRET_A},")
    assert keys.signing_kid == "B"
    assert set(keys.keys) == {"B", "A"}
    assert keys.keys["A"] == SECRET_A.encode()


def test_key_rotation_old_key_verifies_until_retired():
    old_code = sign(KEYS_A, 500, STATIC)
    old_rotating = sign(KEYS_A, 500, ROTATING, STEP0)

    rotated = PassKeys.parse(f"B:{SECRET_B},A:{SECRET_A}")
    assert rotated.signing_kid == "B"
    new_code = sign(rotated, 500, STATIC)
    assert new_code != old_code
    assert check(new_code, rotated) == VerifiedCode(500, "S", "B", None)
    # A is still listed (no longer signing): its codes still verify.
    assert check(old_code, rotated) == VerifiedCode(500, "S", "A", None)
    assert check(old_rotating, rotated) == VerifiedCode(500, "R", "A", STEP0)

    retired = PassKeys.parse(f"B:{SECRET_B}")
    assert check(old_code, retired) is None
    assert check(old_rotating, retired) is None
    assert check(new_code, retired) == VerifiedCode(500, "S", "B", None)


def test_unknown_key_id_refused():
    code_b = sign(PassKeys.parse(f"B:{SECRET_B}"), 1, STATIC)
    assert check(code_b, KEYS_A) is None


def test_same_key_id_with_another_secret_refused():
    code = sign(KEYS_A, 1, STATIC)
    assert check(code, PassKeys.parse(f"A:{SECRET_B}")) is None


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "   ",
        ",,",
        "A:short",
        "A:" + "x" * 15,
        "A",  # no separator
        f":{SECRET_A}",  # empty kid
        f"ABCDE:{SECRET_A}",  # kid too long
        f"A-B:{SECRET_A}",  # kid not alphanumeric
        f"A:{SECRET_A},A:{SECRET_B}",  # duplicate
        f"A:{SECRET_A},a:{SECRET_B}",  # duplicate after upper-casing
        f"A:{SECRET_A},B:short",  # second key bad
    ],
)
def test_parse_errors(spec):
    with pytest.raises(PassKeyError):
        PassKeys.parse(spec)


def test_parse_accepts_exactly_16_char_secret():
    keys = PassKeys.parse("A:" + "x" * 16)
    assert keys.keys == {"A": b"x" * 16}


# --- invalid inputs -----------------------------------------------------------------------

VALID_STATIC = sign(KEYS_A, 12345, STATIC)
VALID_ROTATING = sign(KEYS_A, 12345, ROTATING, STEP0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\r\n",
        "garbage",
        "K1",
        "K1S:",
        "K1S:A:9IX",
        "K1S:A:9IX:",
        "https://example.com/pass?id=12345",
        "HTTP://EXAMPLE.COM/PASS",
        "6901234567892",  # EAN-13
        "12345670",  # EAN-8
        json.dumps({"pass": 12345, "kid": "A"}),
        "WIFI:S:net;T:WPA;P:password;;",
        "K2S:A:9IX:" + "A" * 20,  # another version prefix
        "K1X:A:9IX:" + "A" * 20,  # unknown form
        "K1S:A:9IX:" + "A" * 20,  # well-formed, wrong tag
        VALID_STATIC[:-1] + ("A" if VALID_STATIC[-1] != "A" else "B"),
        "A" * 65,
        "K1S:A:" + "Z" * 60,
        VALID_STATIC + "0" * (MAX_CODE_LENGTH + 5 - len(VALID_STATIC)),
        "\x00" * 10,
        "K1S:A:9IX:\u00c4" + "A" * 19,
        "\u901a\u884c\u8bc1",  # Chinese text
        "\uff2b\uff11\uff33:A:9IX:" + "A" * 20,  # full-width K1S
    ],
)
def test_invalid_text_returns_none(text):
    assert check(text) is None


@pytest.mark.parametrize(
    "value",
    [
        None,
        12345,
        12345.0,
        VALID_STATIC.encode(),
        bytearray(VALID_STATIC.encode()),
        [VALID_STATIC],
        {"code": VALID_STATIC},
        object(),
    ],
)
def test_non_string_returns_none(value):
    assert check(value) is None


def test_static_code_with_step_refused():
    forged = forge(SECRET_A, f"K1S:A:9IX:{STEP0:d}")  # correct tag over a static body with a step
    assert check(forged) is None
    forged_b36 = forge(SECRET_A, "K1S:A:9IX:XC9VK")
    assert check(forged_b36) is None


def test_rotating_code_without_step_refused():
    assert check(forge(SECRET_A, "K1R:A:9IX")) is None


def test_leading_zeros_in_pass_id_refused():
    assert check(forge(SECRET_A, "K1S:A:9IX")) is not None  # the canonical spelling, as control
    assert check(forge(SECRET_A, "K1S:A:09IX")) is None
    assert check(forge(SECRET_A, "K1S:A:009IX")) is None
    assert check(forge(SECRET_A, "K1S:A:0")) is not None  # pass id 0 itself is fine


def test_leading_zeros_in_step_refused():
    assert check(forge(SECRET_A, "K1R:A:9IX:XC9VK")) is not None
    assert check(forge(SECRET_A, "K1R:A:9IX:0XC9VK")) is None


def test_mismatched_kid_in_body_refused():
    # Signed with A's secret but claims key id B (known to the verifier).
    keys = PassKeys.parse(f"A:{SECRET_A},B:{SECRET_B}")
    assert check(forge(SECRET_A, "K1S:B:9IX"), keys) is None


@pytest.mark.parametrize(
    "non_ascii",
    [
        pytest.param("\u017f", id="long-s"),  # 'ſ'.upper() == 'S'
        pytest.param("\u0131", id="dotless-i"),  # 'ı'.upper() == 'I'
    ],
)
def test_non_ascii_letters_that_upper_case_to_ascii_refused(non_ascii):
    target = non_ascii.upper()
    keys = PassKeys.parse(f"SI:{SECRET_A}")  # key id with both S and I
    code = sign(keys, 1, STATIC)
    assert target in code
    spoofed = code.replace(target, non_ascii, 1)
    assert spoofed != code and not spoofed.isascii()
    assert spoofed.upper() == code  # would verify if upper-cased before the ASCII check
    assert check(spoofed, keys) is None


@pytest.mark.parametrize("suffix", ["\u3000", "\u00a0", "\u2028", "\u0085"])
def test_non_ascii_whitespace_around_code_refused(suffix):
    assert check(VALID_STATIC + suffix) is None
    assert check(suffix + VALID_STATIC) is None


# --- deliberate forgiveness ---------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["\r", "\n", "\r\n", " ", "  ", "\t"])
@pytest.mark.parametrize("code", [VALID_STATIC, VALID_ROTATING])
def test_trailing_scanner_noise_still_verifies(code, suffix):
    assert check(code + suffix) == check(code)
    assert check(code + suffix) is not None


@pytest.mark.parametrize("code", [VALID_STATIC, VALID_ROTATING])
def test_lower_case_scanner_output_still_verifies(code):
    assert code.lower() != code
    assert check(code.lower()) == check(code)
    assert check(code.lower() + "\r\n") is not None
    assert check(code.lower()).pass_id == 12345


# --- properties ---------------------------------------------------------------------------

KEYS_AB = PassKeys.parse(f"A:{SECRET_A},B:{SECRET_B}")
pass_ids = st.integers(min_value=0, max_value=10**12)
steps = st.integers(min_value=0, max_value=10**10)


@settings(max_examples=300, deadline=None)
@given(pass_id=pass_ids, step=steps, form=st.sampled_from([ROTATING, STATIC]))
def test_property_sign_then_verify(pass_id, step, form):
    code = sign(KEYS_AB, pass_id, form, step if form == ROTATING else None)
    assert len(code) <= MAX_CODE_LENGTH
    assert set(code) <= set(QR_ALPHANUMERIC)
    result = verify(KEYS_AB, code, step * STEP_SECONDS, STEP_SECONDS)
    assert result is not None
    assert result.pass_id == pass_id
    assert result.form == form
    assert result.kid == "A"
    assert result.step == (step if form == ROTATING else None)


@st.composite
def mutated_codes(draw):
    pass_id = draw(pass_ids)
    step = draw(steps)
    form = draw(st.sampled_from([ROTATING, STATIC]))
    code = sign(KEYS_AB, pass_id, form, step if form == ROTATING else None)
    kind = draw(st.sampled_from(["replace", "delete", "insert", "truncate"]))
    if kind == "replace":
        i = draw(st.integers(0, len(code) - 1))
        c = draw(st.sampled_from(QR_ALPHANUMERIC).filter(lambda ch: ch != code[i]))
        mutated = code[:i] + c + code[i + 1 :]
    elif kind == "delete":
        i = draw(st.integers(0, len(code) - 1))
        mutated = code[:i] + code[i + 1 :]
    elif kind == "insert":
        i = draw(st.integers(0, len(code)))
        c = draw(st.sampled_from(QR_ALPHANUMERIC))
        mutated = code[:i] + c + code[i:]
    else:
        mutated = code[: draw(st.integers(0, len(code) - 1))]
    return code, step, mutated


@settings(max_examples=500, deadline=None)
@given(mutated_codes())
def test_property_no_mutation_verifies(case):
    code, step, mutated = case
    assume(mutated.strip().upper() != code)
    assert verify(KEYS_AB, code, step * STEP_SECONDS, STEP_SECONDS) is not None
    assert verify(KEYS_AB, mutated, step * STEP_SECONDS, STEP_SECONDS) is None


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=QR_ALPHANUMERIC),
        st.binary().map(lambda b: b.decode("latin-1")),
        st.binary().map(lambda b: b.decode("utf-8", errors="replace")),
        st.builds(lambda s: "K1S:A:" + s, st.text(alphabet=QR_ALPHANUMERIC)),
    ),
    st.floats(min_value=0, max_value=4e9),
)
def test_property_random_text_never_raises(text, at):
    assert verify(KEYS_AB, text, at, STEP_SECONDS) is None
