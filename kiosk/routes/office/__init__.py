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
    notices,
    observation,
    passes,
    places,
    printing,
    results,
    risk_areas,
    screening,
    seals,
    sensors,
    services,
    staff,
)
from .blueprint import bp

__all__ = ["bp"]
