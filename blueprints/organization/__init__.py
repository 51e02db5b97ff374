from flask import Blueprint

bp = Blueprint("organization", __name__)

from blueprints.organization import routes, requests  # noqa: E402,F401
