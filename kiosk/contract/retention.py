"""Retention (kiosk/services/retention.py): a street's retention period, set by a street user on
the office's retention page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .forms import Form
from .types import whole_number_text

# How long a street may keep its gate log: at least a week (a visit invited up to seven days
# ahead must still be there on its day), at most a year.
RETENTION_MIN_DAYS = 7
RETENTION_MAX_DAYS = 365


class RetentionForm(Form):
    """A street's retention period in days."""

    messages = {
        "retention_days": _l(
            "Retention period: a whole number of days from %(lo)d to %(hi)d.",
            lo=RETENTION_MIN_DAYS,
            hi=RETENTION_MAX_DAYS,
        ),
    }

    retention_days: whole_number_text(RETENTION_MIN_DAYS, RETENTION_MAX_DAYS)
