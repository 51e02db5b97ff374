from flask import Blueprint

bp = Blueprint("admissions", __name__)

from blueprints.admissions import routes  # noqa: E402,F401
