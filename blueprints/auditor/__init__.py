from flask import Blueprint

bp = Blueprint("auditor", __name__)

from blueprints.auditor import routes, audits, explorer, checkpoints, emergencies  # noqa: E402,F401
