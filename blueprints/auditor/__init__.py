from flask import Blueprint

bp = Blueprint("auditor", __name__)

from blueprints.auditor import audits, checkpoints, emergencies, explorer, routes  # noqa: E402,F401
