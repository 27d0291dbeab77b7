"""The community office's pages: one module per resource."""

from . import compounds, dashboard, devices, guards, risk_areas  # noqa: F401 - they add the views
from .blueprint import bp

__all__ = ["bp"]
