"""The API's routes: parse, ask models.exchange.fhir_search, answer FHIR JSON."""
import logging
import uuid
from urllib.parse import urlencode

from flask import Response, current_app, request, stream_with_context, url_for
from werkzeug.exceptions import HTTPException

from blueprints.fhir import bp
from blueprints.fhir.api_auth import ANY_METHOD, api_reader, open_to_all
from blueprints.fhir.outcome import MEDIA_TYPE, error, fhir_json
from models.core import clock
from models.core.errors import DomainError
from models.exchange import fhir_json as exact
from models.exchange import fhir_search
from models.storage.db import get_db

log = logging.getLogger(__name__)


def _key():
    return current_app.extensions["medledger"]["data_key"]


def base_url():
    return url_for("fhir.metadata", _external=True).rsplit("/", 1)[0]


def _link(resource_type, params):
    return f"{base_url()}/{resource_type}?{urlencode(params)}"


def _bundle(resource_type, resources, *, total, params, next_params):
    base = base_url()
    links = [{"relation": "self", "url": _link(resource_type, params)}]
    if next_params is not None:
        links.append({"relation": "next", "url": _link(resource_type, next_params)})
    bundle = {"resourceType": "Bundle", "id": str(uuid.uuid4()),
              "meta": {"lastUpdated": clock.ts(clock.now_ms())}, "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = links
    bundle["entry"] = [{"fullUrl": f"{base}/{res['resourceType']}/{res['id']}", "resource": res,
                        "search": {"mode": "match"}} for res in resources]
    return bundle


@bp.route("/metadata", methods=ANY_METHOD)
@open_to_all
def metadata():
    return fhir_json(fhir_search.capability_statement(base_url()))


@bp.route("/Patient/<patient_id>", methods=ANY_METHOD)
@api_reader
def patient(viewer, patient_id):
    return fhir_json(fhir_search.patient(get_db(), viewer, fhir_search.patient_id_of(patient_id)))


@bp.route("/<any(Observation, Condition, MedicationRequest, AllergyIntolerance, Immunization, "
          "DiagnosticReport, DocumentReference):resource_type>", methods=ANY_METHOD)
@api_reader
def search(viewer, resource_type):
    params = fhir_search.parse_search(request.args, resource_type)
    result = fhir_search.search(get_db(), _key(), viewer, resource_type, params)
    shown = {"patient": params.patient_id, "_count": params.count}
    next_params = None if result.next_offset is None else dict(shown, _offset=result.next_offset)
    if params.offset:
        shown["_offset"] = params.offset
    return fhir_json(_bundle(resource_type, result.resources, total=result.total, params=shown,
                             next_params=next_params))


@bp.route("/AuditEvent", methods=ANY_METHOD)
@api_reader
def audit_events(viewer):
    params = fhir_search.parse_search(request.args, fhir_search.AUDIT_EVENT)
    result = fhir_search.read_log(get_db(), viewer, params)
    shown = {"patient": params.patient_id, "_count": params.count}
    next_params = None if result.next_before is None else dict(shown, _before=result.next_before)
    if params.before:
        shown["_before"] = params.before
    return fhir_json(_bundle("AuditEvent", result.resources, total=None, params=shown,
                             next_params=next_params))


@bp.route("/Patient/<patient_id>/$everything", methods=ANY_METHOD)
@api_reader
def everything(viewer, patient_id):
    """A searchset streamed resource by resource (a patient with 500 records is never built
    whole in memory); refusals are decided before the first byte."""
    unknown = sorted(set(request.args) - {"_format"})
    if unknown:
        return error(400, f"Unsupported parameter(s): {', '.join(unknown)[:200]}.")
    resources = fhir_search.everything(get_db(), _key(), viewer,
                                       fhir_search.patient_id_of(patient_id))
    base = base_url()
    self_url = f"{base}/Patient/{fhir_search.patient_id_of(patient_id)}/$everything"

    def body():
        head = {"resourceType": "Bundle", "id": str(uuid.uuid4()),
                "meta": {"lastUpdated": clock.ts(clock.now_ms())}, "type": "searchset",
                "link": [{"relation": "self", "url": self_url}]}
        yield exact.dumps(head)[:-1] + ',"entry":['
        count = 0
        for resource in resources:
            entry = {"fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                     "resource": resource, "search": {"mode": "match"}}
            yield ("," if count else "") + exact.dumps(entry)
            count += 1
        yield f'],"total":{count}}}'
    return Response(stream_with_context(body()), mimetype=MEDIA_TYPE,
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
