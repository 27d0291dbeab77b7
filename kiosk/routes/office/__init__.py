"""The community office's pages: one module per resource."""

from . import (  # noqa: F401 - they add the views
    audit,
    compounds,
    dashboard,
    devices,
    guards,
    observation,
    risk_areas,
    seals,
    staff,
)
from .blueprint import bp

__all__ = ["bp"]
