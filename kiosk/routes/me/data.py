""" "My data": what the system holds about the signed-in resident, as a page and as a JSON
download (the same document as ``GET /api/v1/me/data``)."""

from __future__ import annotations

import json

from flask import make_response, render_template
from flask_login import current_user

from ...contract.household import MyData
from ...models import utcnow
from ...services import my_data
from ..helpers import resident_required
from .blueprint import bp


@bp.get("/data")
@resident_required
def data():
    """The resident's record, passes, gate events, tests, and the household's visits and
    service requests."""
    return render_template("me/data.html", data=my_data.collect(current_user, utcnow()))


@bp.get("/data.json")
@resident_required
def data_json():
    """The same as a JSON file to keep: never cached, named without personal data."""
    document = MyData.model_validate(my_data.collect(current_user, utcnow()))
    body = json.dumps(document.model_dump(mode="json"), ensure_ascii=False, indent=2)
    response = make_response(body)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response
