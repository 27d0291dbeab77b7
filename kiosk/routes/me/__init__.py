"""A resident's pages on their phone: one module per use (the pass, the household's passes,
visitor invitations, deliveries, their own data). Every page is for a joined resident (role
``resident`` bound to a resident record) and reaches only their own household."""

from . import (
    data,  # noqa: F401
    household,  # noqa: F401
    invitations,  # noqa: F401
    pass_,  # noqa: F401
    requests,  # noqa: F401
)
from .blueprint import bp

__all__ = ["bp"]
