from flask import Blueprint

bp = Blueprint("doctor", __name__)

from blueprints.doctor import routes, verification, receipts  # noqa: E402,F401
