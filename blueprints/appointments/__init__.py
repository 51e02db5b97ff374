from flask import Blueprint

bp = Blueprint("appointments", __name__)

from blueprints.appointments import routes  # noqa: E402,F401
