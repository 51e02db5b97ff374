"""The read-only FHIR R4 REST API at /fhir/r4/: JSON only, OperationOutcome for every error,
a web session or a personal API token (Bearer) to authenticate, no CSRF (GET only) and no
CORS. Who reads what is the pages' access decision (models.exchange.fhir_search)."""
from flask import Blueprint

from extensions import csrf

bp = Blueprint("fhir", __name__)
csrf.exempt(bp)  # read-only: every route answers GET alone, and token requests carry no cookie

from blueprints.fhir import api_auth, routes  # noqa: E402,F401
