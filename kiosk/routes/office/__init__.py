"""The community office's pages: one module per resource."""

from flask import Blueprint

bp = Blueprint("office", __name__, url_prefix="/office")

from . import compounds, dashboard, devices, guards, risk_areas  # noqa: E402, F401
