from flask import Blueprint

bp = Blueprint("doctor", __name__)

from blueprints.doctor import receipts, routes, verification  # noqa: E402,F401
