"""The office's tracing pages (``/office/trace``): whose trace form to open (ids only in the
URL), the report's export and the "disinfect now" action. The trace itself is ``TraceForm``
(``contract/tracing.py``), the visitor search ``VisitorSearch``."""

from __future__ import annotations

from typing import Annotated, Literal

from flask_babel import lazy_gettext as _l
from pydantic import Field, model_validator

from .forms import Form
from .tracing import WHO, TraceForm
from .types import IdText

# What an export of the report is: a CSV file, an Excel workbook or a page to print.
ExportFormat = Literal["csv", "xlsx", "print"]


class TracePick(Form):
    """``/office/trace?resident_id=N`` or ``?visit_id=N``: the trace form for that person."""

    messages = {"resident_id": _l("Not found."), "visit_id": _l("Not found.")}

    resident_id: IdText = None
    visit_id: IdText = None

    @model_validator(mode="after")
    def _one(self):
        if self.resident_id is not None and self.visit_id is not None:
            raise WHO.error()
        return self


class TraceExportForm(TraceForm):
    """The report's fields again (the trace is run, and audited, again) and the format."""

    messages = {**TraceForm.messages, "format": _l("Choose CSV, Excel or print.")}

    format: ExportFormat


class DueNowForm(Form):
    """The public areas of a traced route ticked to be disinfected at once."""

    lists = frozenset({"area_ids"})
    messages = {"area_ids": _l("Choose areas from the list.")}

    area_ids: Annotated[list[IdText], Field(min_length=1, max_length=500)]
