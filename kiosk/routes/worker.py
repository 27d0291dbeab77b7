"""The workers' phone pages (``/worker``): the community's open service requests."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("worker", __name__, url_prefix="/worker")
