"""Test results in a batch: the office uploads the testing site's list (CSV or XLSX) and gets a
report of every row (recorded, already recorded, not found, ambiguous, invalid). One result at a
time is recorded on the household's page (``passes.record_test``)."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from ...contract.errors import problems
from ...contract.results import HEADER
from ...services import results
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp
from .imports import uploaded_file


@bp.get("/tests")
@role_required("office", "street")
def test_results():
    """The upload form, with the columns the file needs."""
    return render_template(
        "office/tests.html", header=HEADER, report=None, statuses=results.RowStatus
    )


@bp.post("/tests")
@role_required("office", "street")
def import_test_results():
    """Match and record the batch; the report lists every row. A file that cannot be read is
    said on the form, and nothing is recorded."""
    try:
        data, filename = uploaded_file()
        report = results.import_results(current_user, data, filename)
    except ServiceError as exc:
        return render_template(
            "office/tests.html",
            header=HEADER,
            report=None,
            statuses=results.RowStatus,
            errors=problems(exc),
        )
    return render_template(
        "office/tests.html", header=HEADER, report=report, statuses=results.RowStatus
    )
