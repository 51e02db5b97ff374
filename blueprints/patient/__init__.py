from flask import Blueprint

bp = Blueprint("patient", __name__)

from blueprints.patient import fhir_import, receipts, registration, routes  # noqa: E402,F401
