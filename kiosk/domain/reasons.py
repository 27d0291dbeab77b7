"""One place to find the message of any reason code, resident or visitor."""

from .decision import N_, REASONS, Decision
from .visitors import VISITOR_REASONS

# Not from a decision function: the person's state kept changing under this scan (other gates
# won the race several times in a row), so nothing was decided; the guard scans again.
BUSY = "busy"
GATE_REASONS: dict[str, tuple[Decision, str]] = {
    BUSY: (Decision.REFER, N_("Scanned at another gate at the same moment: scan again")),
}


def reason_message(code: str) -> str:
    """The untranslated message of a reason code; an unknown code is shown as itself."""
    entry = REASONS.get(code) or VISITOR_REASONS.get(code) or GATE_REASONS.get(code)
    return entry[1] if entry else code
