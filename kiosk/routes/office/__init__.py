"""The community office's pages: one module per resource."""

from . import (  # noqa: F401 - they add the views
    audit,
    compounds,
    dashboard,
    devices,
    disinfection,
    guards,
    imports,
    invites,  # noqa: F401
    moving,
    notices,
    observation,
    passes,
    places,
    printing,
    results,
    retention,
    risk_areas,
    screening,
    seals,
    sensors,
    services,
    staff,
    trace,
)
from .blueprint import bp

__all__ = ["bp"]
