"""The API's routes: parse, ask models.exchange.fhir_search, answer FHIR JSON."""
import logging

from flask import Response, current_app, request, stream_with_context, url_for
from werkzeug.exceptions import HTTPException

from blueprints.fhir import bp
from blueprints.fhir.api_auth import ANY_METHOD, api_reader, open_to_all
from blueprints.fhir.outcome import MEDIA_TYPE, error, fhir_json
from models.core.errors import DomainError
from models.exchange import fhir_search
from models.storage.db import get_db

log = logging.getLogger(__name__)


def _key():
    return current_app.extensions["medledger"]["data_key"]


def base_url():
    return url_for("fhir.metadata", _external=True).rsplit("/", 1)[0]


@bp.route("/metadata", methods=ANY_METHOD)
@open_to_all
def metadata():
    return fhir_json(fhir_search.capability_statement(base_url()))


@bp.route("/Patient/<patient_id>", methods=ANY_METHOD)
@api_reader
def patient(viewer, patient_id):
    return fhir_json(fhir_search.patient(get_db(), viewer, fhir_search.patient_id_of(patient_id)))


@bp.route(f"/<any({', '.join(fhir_search.SEARCHABLE)}):resource_type>", methods=ANY_METHOD)
@api_reader
def search(viewer, resource_type):
    params = fhir_search.parse_search(request.args, resource_type)
    result = fhir_search.search(get_db(), _key(), viewer, resource_type, params)
    return _page(resource_type, params, result)


@bp.route(f"/<any({', '.join(fhir_search.SEARCHABLE)}):resource_type>/<resource_id>",
          methods=ANY_METHOD)
@api_reader
def read(viewer, resource_type, resource_id):
    return fhir_json(fhir_search.read(get_db(), _key(), viewer, resource_type, resource_id))


@bp.route("/AuditEvent", methods=ANY_METHOD)
@api_reader
def audit_events(viewer):
    params = fhir_search.parse_search(request.args, fhir_search.AUDIT_EVENT)
    return _page(fhir_search.AUDIT_EVENT, params, fhir_search.read_log(get_db(), viewer, params))


def _page(resource_type, params, result):
    base = base_url()
    self_url, next_url = fhir_search.links(base, resource_type, params, result)
    return fhir_json(fhir_search.searchset(base, result.resources, self_url=self_url,
                                           next_url=next_url, total=result.total))


@bp.route("/Patient/<patient_id>/$everything", methods=ANY_METHOD)
@api_reader
def everything(viewer, patient_id):
    """A searchset streamed resource by resource (a patient with 500 records is never built
    whole in memory); refusals are decided before the first byte."""
    fhir_search.parse_everything(request.args)
    patient_id = fhir_search.patient_id_of(patient_id)
    resources = fhir_search.everything(get_db(), _key(), viewer, patient_id)
    base = base_url()
    chunks = fhir_search.searchset_chunks(base, resources,
                                          self_url=f"{base}/Patient/{patient_id}/$everything")
    return Response(stream_with_context(chunks), mimetype=MEDIA_TYPE,
                    headers={"Cache-Control": "no-store"})


@bp.route("/", defaults={"rest": ""}, methods=ANY_METHOD)
@bp.route("/<path:rest>", methods=ANY_METHOD)
@open_to_all
def unknown(rest):
    return error(404, "This API offers metadata, Patient/<id>, Patient/<id>/$everything and "
                      "searches by patient: see metadata.")


@bp.errorhandler(DomainError)
def domain_error(exc):
    return error(exc.status, exc.message)


@bp.errorhandler(HTTPException)
def http_error(exc):
    return error(exc.code or 500, exc.description if exc.code and exc.code < 500 else None)


@bp.errorhandler(Exception)
def unexpected(exc):
    log.exception("FHIR API request failed: %s %s", request.method, request.path)
    return error(500)
