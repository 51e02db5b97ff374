from flask import Blueprint

bp = Blueprint("patient", __name__)

from blueprints.patient import routes, registration  # noqa: E402,F401
