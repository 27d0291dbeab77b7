"""One place to find the message of any reason code, resident or visitor."""

from .decision import REASONS
from .visitors import VISITOR_REASONS


def reason_message(code: str) -> str:
    """The untranslated message of a reason code; an unknown code is shown as itself."""
    entry = REASONS.get(code) or VISITOR_REASONS.get(code)
    return entry[1] if entry else code
