"""The read-only FHIR API's logic: what a reader may see of a patient, as FHIR R4 resources.

The same rules as the pages, nothing looser (models.consent.access decides, models.clinical.
reading seals and decrypts):
- deny by default: admins, auditors, front desk and researchers read no clinical data; a
  patient reads only their own file; another reader needs a basis for this patient (a record
  they may read now, an active grant, an open emergency), else the whole request is refused
  (403);
- a search answers the current version of each record the decision allows, and each record
  returned is a sealed read (`item` "FHIR API"), read one by one as its page is built; a
  record is never decrypted for a page that does not return it;
- a record only a one-time grant opens is left out of searches (a search must not use up a
  grant meant for one deliberate read), as the export does; a read by id is that deliberate
  read, as the record page is, and uses it;
- the patient's read log (`AuditEvent`) is for the patient themself only.

Bounded, indexed reads: a patient's record envelopes come through the `patient_id` index (no
values, no ciphertext), are decided in memory, and only the page's records are read whole.
Pages hold `_count` records (default 20, at most 100), oldest first (new records append at the
end, so an `_offset` stays put while someone pages); all of a record's resources of the type
come on the same page, so a vitals record (one Observation per sign measured) may make a page
longer than `_count` entries, and a record is never read twice to finish it on the next page.
The read log pages newest first by sealing height (`_before`), as its page on the site does.
"""
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from models.clinical import audit_trail, reading, records
from models.consent import access
from models.consent import workflow as consent
from models.core import clock, ids
from models.core import record_types as types
from models.core.errors import Forbidden, InvalidInput, NotFound
from models.exchange import fhir_export, fhir_json, fhir_ledger, fhir_people, fhir_records
from models.people import users
from models.storage import authority

FHIR_VERSION = "4.0.1"
READ_ITEM = "FHIR API"
"""How an API read is named in the patient's "who saw my records" (and its sealed block)."""
DEFAULT_COUNT, MAX_COUNT = 20, 100
SEARCHABLE = ("Observation", "Condition", "MedicationRequest", "AllergyIntolerance",
              "Immunization", "DiagnosticReport", "DocumentReference")
"""Record resource types searchable by `patient`."""
AUDIT_EVENT = "AuditEvent"
EVERYTHING = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
SEARCH_PARAMS = {"patient", "_count", "_format"}
PAGE_PARAMS = {"_offset"}
AUDIT_PAGE_PARAMS = {"_before"}
NO_READERS = (users.ADMIN, users.AUDITOR, users.FRONT_DESK, users.RESEARCHER)
RESOURCE_ID_RE = re.compile(r"^(PAT-\d{6}-R\d{1,9})(-[a-z0-9-]{1,40})?$")
"""A record resource's id: its record's id, and a suffix where one record yields several."""


# Parameters ---------------------------------------------------------------------------------

def patient_id_of(value):
    """`PAT-000001` or `Patient/PAT-000001` → `PAT-000001`; InvalidInput otherwise."""
    text = (value or "").strip()
    if text.startswith("Patient/"):
        text = text[len("Patient/"):]
    text = text.upper()
    if not text:
        raise InvalidInput("The search needs patient=<id> (e.g. patient=PAT-000001).")
    digits = text[4:]
    if not text.startswith("PAT-") or len(text) > 20 or not digits.isascii() \
            or not digits.isdigit():
        raise InvalidInput("patient must be a MedLedger patient id such as PAT-000001.")
    return text


def _number(args, name, default, low, high):
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if len(raw) > 12 or not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}.")
    return int(raw)


@dataclass(frozen=True)
class Search:
    patient_id: str
    count: int
    offset: int = 0
    before: int | None = None


def parse_search(args, resource_type):
    """The search's parameters (a MultiDict of the query string); InvalidInput on anything
    not supported (strict: a filter silently ignored would answer more than was asked)."""
    allowed = SEARCH_PARAMS | (AUDIT_PAGE_PARAMS if resource_type == AUDIT_EVENT else PAGE_PARAMS)
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise InvalidInput(f"Unsupported search parameter(s): {', '.join(unknown)[:200]}. "
                           f"{resource_type} supports: {', '.join(sorted(allowed))}.")
    repeated = sorted(name for name in args if len(args.getlist(name)) > 1)
    if repeated:
        raise InvalidInput(f"Give each parameter once: {', '.join(repeated)}.")
    before = _number(args, "_before", None, 1, 10**12) if resource_type == AUDIT_EVENT else None
    offset = _number(args, "_offset", 0, 0, records.PATIENT_LIST_LIMIT) \
        if resource_type != AUDIT_EVENT else 0
    return Search(patient_id_of(args.get("patient")),
                  _number(args, "_count", DEFAULT_COUNT, 1, MAX_COUNT), offset, before)


# Who may see the patient --------------------------------------------------------------------

@dataclass
class Opened:
    """A patient as one reader may see them: the records they may read now (current versions,
    envelopes only, oldest first)."""
    patient: dict
    viewer: dict
    readable: list
    own: bool


def _current(envelopes):
    return [current for current, _ in records.grouped(envelopes)]


def _oldest_first(docs):
    return sorted(docs, key=lambda doc: (doc["created_at"], ids.record_number(doc["record_id"])))


def open_patient(db, viewer, patient_id, records_wanted=True):
    """What `viewer` may see of the patient, or Forbidden / NotFound (no data either way).

    Without `records_wanted` (a Patient read) the records are not even listed when the
    reader's basis is known without them (their own file, a grant, an emergency)."""
    if viewer["role"] in NO_READERS:
        raise Forbidden("Your role reads no clinical data.")
    own = viewer["role"] == users.PATIENT
    if own and viewer["human_id"] != patient_id:
        raise Forbidden("You may read only your own records.")
    patient = authority.authentic("users", users.by_human_id(db, patient_id, role=users.PATIENT))
    if patient is None:
        raise NotFound("There is no such patient.")
    ctx = None if own else access.load_context(db, viewer, patient_id)
    if not records_wanted and (own or _has_basis(ctx)):
        return Opened(patient, viewer, [], own)
    current = [doc for doc in _current(records.for_patient(db, patient_id))
               if authority.authentic("records", doc) is not None]
    readable = current if own else [doc for doc in current if _reads(access.evaluate(ctx, doc))]
    if not own and not readable and not _has_basis(ctx):
        raise Forbidden("This patient has not allowed you to read their records.")
    return Opened(patient, viewer, _oldest_first(readable), own)


def _reads(decision):
    return decision.allowed and not (decision.grant and decision.grant.get("one_time"))


def _has_basis(ctx):
    """An active grant (a one-time grant not yet used, too) or an open emergency for this
    patient: the reader may see who the patient is even while no record of theirs falls in
    the grant yet, or while the only record they may read waits for its one deliberate read."""
    if any(consent.is_active(grant, ctx.now) and grant["patient_id"] == ctx.patient_id
           for grant in ctx.grants):
        return True
    if ctx.viewer["role"] == users.DOCTOR:
        return any(case["patient_id"] == ctx.patient_id and case["opened_at"] <= ctx.now
                   < case["ends_at"] for case in ctx.open_emergencies())
    return False


# Reads --------------------------------------------------------------------------------------

def patient(db, viewer, patient_id):
    """The Patient resource (who the patient is; no record is read)."""
    return fhir_people.patient_resource(
        open_patient(db, viewer, patient_id, records_wanted=False).patient)


def _matches(doc, resource_type):
    return resource_type in fhir_records.RESOURCE_TYPES.get(doc["type"], ())


def _read_resources(db, key, viewer, doc, resource_type=None):
    """The resources of one record version after the read is decided and sealed; [] when the
    decision changed since the page was planned (a grant revoked meanwhile)."""
    try:
        whole, _ = reading.read_version(db, viewer, doc["record_id"], doc["version"],
                                        item=READ_ITEM)
    except (Forbidden, NotFound):
        return []
    resources = fhir_records.resources_for_version(whole, records.data_of(key, whole))
    return [res for res in resources
            if resource_type is None or res["resourceType"] == resource_type]


def read(db, key, viewer, resource_type, resource_id):
    """One record resource by id: the current version of its record, read as the record page
    reads it (decided, sealed; a one-time grant is used by it, as by the page). NotFound for
    an id no current version yields, Forbidden when the decision refuses."""
    match = RESOURCE_ID_RE.match(resource_id or "")
    current = records.versions(db, match.group(1)) if match else []
    if resource_type not in SEARCHABLE or not current or not _matches(current[0], resource_type):
        raise NotFound(f"There is no {resource_type} {resource_id[:60]}.")
    doc, _ = reading.read_version(db, viewer, current[0]["record_id"], current[0]["version"],
                                  item=READ_ITEM)
    found = [res for res in fhir_records.resources_for_version(doc, records.data_of(key, doc))
             if res["resourceType"] == resource_type and res["id"] == resource_id]
    if not found:
        raise NotFound(f"There is no {resource_type} {resource_id[:60]}.")
    return found[0]


@dataclass
class Result:
    """One page of a search: its resources, how many the whole search matches (None when
    that is not known without reading more), the next page."""
    resources: list
    total: int
    next_offset: int | None = None
    next_before: int | None = None


def search(db, key, viewer, resource_type, params):
    """One page of `resource_type` resources of the patient the reader may read, each record
    on it a sealed read."""
    if resource_type not in SEARCHABLE:
        raise NotFound(f"{resource_type} is not searchable here.")
    opened = open_patient(db, viewer, params.patient_id)
    matching = [doc for doc in opened.readable if _matches(doc, resource_type)]
    page = matching[params.offset:params.offset + params.count]
    resources = []
    for doc in page:
        resources.extend(_read_resources(db, key, viewer, doc, resource_type))
    following = params.offset + params.count
    return Result(resources, _total(matching, resource_type),
                  following if following < len(matching) else None)


def _total(matching, resource_type):
    """How many resources the whole search matches, when the envelopes tell it exactly (every
    type but vitals: their Observations depend on which signs were measured). None otherwise:
    counting them would mean decrypting, so reading and sealing, records this page does not
    return."""
    if any(doc["type"] == types.GENERAL for doc in matching):
        return None
    prefix = resource_type + "/"
    return sum(1 for doc in matching for ref in fhir_records.references(doc)
               if ref.startswith(prefix))


def read_log(db, viewer, params):
    """The patient's own read log as AuditEvents, newest first (the patient alone)."""
    if viewer["role"] != users.PATIENT or viewer["human_id"] != params.patient_id:
        raise Forbidden("Only the patient reads the log of who read their records.")
    page = audit_trail.page_for_patient(db, params.patient_id, before=params.before,
                                        per_page=params.count)
    return Result([fhir_ledger.audit_event_resource(entry) for entry in page.items],
                  total=None, next_before=page.before)


def everything(db, key, viewer, patient_id):
    """Patient/$everything: an iterator of what the reader may export about the patient, as
    the export builds it (decided before the first resource, each record a sealed read)."""
    open_patient(db, viewer, patient_id, records_wanted=False)  # the API's refusals first
    return fhir_export.patient_resources(db, key, viewer, patient_id)


# Bundles ------------------------------------------------------------------------------------

def parse_everything(args):
    """$everything takes no parameter but `_format` (InvalidInput otherwise)."""
    unknown = sorted(set(args) - {"_format"})
    if unknown:
        raise InvalidInput(f"Unsupported parameter(s): {', '.join(unknown)[:200]}.")


def links(base, resource_type, params, result):
    """(self URL, next URL or None) of a search page: the parameters as understood, and the
    cursor of the next page."""
    shown = {"patient": params.patient_id, "_count": params.count}
    following = None
    if result.next_offset is not None:
        following = dict(shown, _offset=result.next_offset)
    elif result.next_before is not None:
        following = dict(shown, _before=result.next_before)
    if params.offset:
        shown["_offset"] = params.offset
    if params.before:
        shown["_before"] = params.before
    url = f"{base}/{resource_type}?"
    return url + urlencode(shown), url + urlencode(following) if following else None


def _head(self_url, next_url=None):
    bundle = {"resourceType": "Bundle", "id": str(uuid.uuid4()),
              "meta": {"lastUpdated": clock.ts(clock.now_ms())}, "type": "searchset",
              "link": [{"relation": "self", "url": self_url}]}
    if next_url:
        bundle["link"].append({"relation": "next", "url": next_url})
    return bundle


def _entry(base, resource):
    return {"fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
            "resource": resource, "search": {"mode": "match"}}


def searchset(base, resources, *, self_url, next_url=None, total=None):
    """A searchset Bundle of one page."""
    bundle = _head(self_url, next_url)
    if total is not None:
        bundle["total"] = total
    bundle["entry"] = [_entry(base, resource) for resource in resources]
    return bundle


def searchset_chunks(base, resources, *, self_url):
    """A searchset Bundle as JSON text chunks, one per entry (exact decimals), with `total`
    written last, once it is known: nothing is held but the entry being written."""
    yield fhir_json.dumps(_head(self_url))[:-1] + ',"entry":['
    count = 0
    for resource in resources:
        yield ("," if count else "") + fhir_json.dumps(_entry(base, resource))
        count += 1
    yield f'],"total":{count}}}'


# The CapabilityStatement --------------------------------------------------------------------

def capability_statement(base_url, today=None):
    """What this server actually offers: JSON, read-only, these resources and parameters."""
    patient_param = {"name": "patient", "type": "reference",
                     "definition": "http://hl7.org/fhir/SearchParameter/clinical-patient",
                     "documentation": "Required: the MedLedger patient id (PAT-…)."}
    resources = [{
        "type": "Patient", "interaction": [{"code": "read"}],
        "operation": [{"name": "everything", "definition": EVERYTHING}],
    }]
    for resource_type in SEARCHABLE + (AUDIT_EVENT,):
        interactions = [{"code": "search-type"}]
        if resource_type != AUDIT_EVENT:
            interactions.insert(0, {"code": "read"})
        resources.append({"type": resource_type, "interaction": interactions,
                          "searchParam": [dict(patient_param)]})
    resources[-1]["documentation"] = "The patient's own read log: the patient alone."
    return {
        "resourceType": "CapabilityStatement", "id": "medledger",
        "url": f"{base_url}/metadata", "name": "MedLedgerReadOnlyApi",
        "title": "MedLedger read-only FHIR API", "status": "active",
        "date": (today or clock.now()).date().isoformat(), "publisher": "MedLedger",
        "kind": "instance",
        "software": {"name": "MedLedger"},
        "implementation": {"description": "MedLedger read-only FHIR R4 API", "url": base_url},
        "fhirVersion": FHIR_VERSION, "format": ["json", "application/fhir+json"],
        "rest": [{
            "mode": "server",
            "documentation": f"Read-only. Searches take _count (1-{MAX_COUNT}, default "
                             f"{DEFAULT_COUNT}); every record returned is a sealed read.",
            "security": {"cors": False,
                         "description": "A personal API token (Authorization: Bearer mlt_...) "
                                        "or a signed-in session; the same access decision as "
                                        "the site."},
            "resource": resources,
        }],
    }
