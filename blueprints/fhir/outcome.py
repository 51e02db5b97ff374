"""Answers of the API: FHIR JSON bodies, and every error as an OperationOutcome (never HTML).

An OperationOutcome carries the status's issue code and a short human message: never clinical
data, never whether a record exists beyond what the status says.
"""
from flask import Response

from models.exchange import fhir_json as exact

MEDIA_TYPE = "application/fhir+json"
ACCEPTED = ("application/fhir+json", "application/json", "application/json+fhir")
FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}

ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found",
               405: "not-supported", 406: "not-supported", 409: "conflict", 410: "deleted",
               413: "too-costly", 415: "not-supported", 429: "throttled", 500: "exception"}
MESSAGES = {400: "The request could not be understood.",
            401: "Authenticate with a personal API token (Authorization: Bearer <token>) or a "
                 "signed-in session.",
            403: "You are not allowed to read this.", 404: "There is nothing here.",
            405: "This API is read-only: use GET.",
            406: "This API answers application/fhir+json only.",
            500: "Something went wrong on our side; nothing was changed."}


def fhir_json(body, status=200, headers=None):
    response = Response(exact.dumps(body), status, mimetype=MEDIA_TYPE, headers=headers)
    response.headers["Cache-Control"] = "no-store"  # clinical data: never in a shared cache
    return response


def operation_outcome(message, code):
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": ISSUE_CODES.get(code, "processing"),
                       "diagnostics": message}]}


def error(status, message=None, headers=None):
    return fhir_json(operation_outcome(message or MESSAGES.get(status, "Error"), status),
                     status, headers)


def unauthorized(message=None, error_code=None):
    """401 with the Bearer challenge of RFC 6750 (error="invalid_token" for a bad token)."""
    challenge = 'Bearer realm="MedLedger FHIR API"'
    if error_code:
        challenge += f', error="{error_code}"'
    return error(401, message, {"WWW-Authenticate": challenge})
