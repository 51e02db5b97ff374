from flask import Blueprint

bp = Blueprint("patient", __name__)

from blueprints.patient import routes, registration, receipts  # noqa: E402,F401
