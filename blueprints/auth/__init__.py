from flask import Blueprint

bp = Blueprint("auth", __name__)

from blueprints.auth import routes  # noqa: E402,F401
from blueprints.auth import two_factor  # noqa: E402,F401
