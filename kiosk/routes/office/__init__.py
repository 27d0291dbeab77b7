"""The community office's pages: one module per resource."""

from flask import Blueprint

bp = Blueprint("office", __name__, url_prefix="/office")

from . import dashboard, devices, guards, risk_areas, compounds  # noqa: E402, F401
