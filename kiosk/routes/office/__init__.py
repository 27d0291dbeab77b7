"""The community office's pages: one module per resource."""

from . import compounds, dashboard, devices, guards, risk_areas, staff  # noqa: F401 - add views
from .blueprint import bp

__all__ = ["bp"]
