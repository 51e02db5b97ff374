from flask import Blueprint

bp = Blueprint("organization", __name__)

from blueprints.organization import requests, routes  # noqa: E402,F401
