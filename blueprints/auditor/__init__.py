from flask import Blueprint

bp = Blueprint("auditor", __name__)

from blueprints.auditor import routes  # noqa: E402,F401
