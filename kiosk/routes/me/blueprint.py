"""The residents' pages' blueprint (``/me``), in a module of its own so that the page modules
import it without importing the package that imports them."""

from flask import Blueprint

bp = Blueprint("me", __name__, url_prefix="/me")
