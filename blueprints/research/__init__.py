from flask import Blueprint

bp = Blueprint("research", __name__)

from blueprints.research import exports, routes  # noqa: E402,F401
