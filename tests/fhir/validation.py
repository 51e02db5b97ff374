"""The three-way FHIR check every FHIR test uses: `check_resource(r)` and `check_bundle(b)`.

1. `fhir.resources` (its R4B models, identical to R4 for the resources MedLedger writes)
   parses the resource: element names, types, cardinality, required elements.
2. HL7's official R4 (4.0.1) JSON Schema (tests/fhir/schema/, loaded once) validates it with
   the draft-06 validator, per resource against that resource type's definition: code
   enumerations, patterns of ids, dates and instants, no unknown elements.
3. The rules neither tool knows: the vital-signs profile (category, LOINC code, UCUM unit,
   subject, effective time), invariants of the R4 spec (Consent needs a policy or policyRule,
   a Condition or allergy in error has no clinical status, ...), no empty values, and no
   binary float anywhere (decimals are Decimal, written exactly by fhir_json).

Everything is checked on the JSON text the resource serializes to (fhir_json round trip), and
every problem found is reported in one AssertionError.
"""
import base64
import gzip
import hashlib
import json
import pathlib
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

import jsonschema
import pydantic
from fhir.resources.R4B import get_fhir_model_class

from models.exchange import fhir_json

SCHEMA_PATH = pathlib.Path(__file__).with_name("schema") / "fhir.schema.json.gz"
ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
REFERENCE_RE = re.compile(
    r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?$")

# The vital-signs rules, spelled out here from the R4 spec (observation-vitalsigns.html) on
# purpose and NOT imported from models.exchange.fhir_codes: a wrong code there must fail here.
LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_SD = "http://hl7.org/fhir/StructureDefinition/"
VITALSIGNS_PROFILE = _SD + "vitalsigns"


@dataclass(frozen=True)
class Vital:
    loinc: str
    name: str
    profile: str
    unit: str = ""  # the UCUM code; none for the blood-pressure panel


VITALS = {vital.loinc: vital for vital in (
    Vital("29463-7", "body weight", _SD + "bodyweight", "kg"),
    Vital("8302-2", "body height", _SD + "bodyheight", "cm"),
    Vital("39156-5", "BMI", _SD + "bmi", "kg/m2"),
    Vital("85354-9", "blood pressure panel", _SD + "bp"),
    Vital("8867-4", "heart rate", _SD + "heartrate", "/min"),
    Vital("8310-5", "body temperature", _SD + "bodytemp", "Cel"),
    Vital("2708-6", "oxygen saturation", _SD + "oxygensat", "%"),
)}
BLOOD_PRESSURE = VITALS["85354-9"]
BP_COMPONENTS = {"8480-6": Vital("8480-6", "systolic", _SD + "bp", "mm[Hg]"),
                 "8462-4": Vital("8462-4", "diastolic", _SD + "bp", "mm[Hg]")}


@lru_cache(maxsize=None)
def schema():
    """HL7's fhir.schema.json (R4 4.0.1), read once per test session."""
    return json.loads(gzip.decompress(SCHEMA_PATH.read_bytes()))


@lru_cache(maxsize=None)
def _validator(resource_type):
    """A draft-06 validator of one resource type (the shared root, one `$ref`)."""
    root = schema()
    if resource_type not in root["definitions"]:
        return None
    narrowed = {key: value for key, value in root.items() if key not in ("oneOf", "discriminator")}
    narrowed["$ref"] = f"#/definitions/{resource_type}"
    return jsonschema.Draft6Validator(narrowed)


def _where(path):
    return "/".join(str(part) for part in path) or "(root)"


# 1. fhir.resources ---------------------------------------------------------------------------

def _model_problems(resource):
    resource_type = resource.get("resourceType")
    try:
        model = get_fhir_model_class(resource_type)
    except (ValueError, TypeError):
        return [f"fhir.resources: no R4B resource type {resource_type!r}"]
    try:
        model.model_validate(resource)
    except pydantic.ValidationError as exc:
        return [f"fhir.resources: {_where(error['loc'])}: {error['msg']}"
                for error in exc.errors()]
    except Exception as exc:  # the models raise plain errors for some invariants
        return [f"fhir.resources: {exc}"]
    return []


# 2. the official JSON schema ---------------------------------------------------------------

def _schema_problems(resource):
    validator = _validator(resource.get("resourceType"))
    if validator is None:
        return [f"schema: no R4 resource type {resource.get('resourceType')!r}"]
    problems = []
    for error in validator.iter_errors(resource):
        where = _where(error.absolute_path)
        if error.validator == "oneOf" and isinstance(error.instance, dict) \
                and "resourceType" in error.instance:
            # a contained resource fails "any resource": say what is wrong with it as its type
            problems += [problem.replace("schema: ", f"schema: {where}/", 1)
                         for problem in _schema_problems(error.instance)]
        else:
            problems.append(f"schema: {where}: {error.message[:300]}")
    return problems


# 3. the rules neither tool checks ---------------------------------------------------------

def _walk(value, path=()):
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, path + (index,))


def _generic_problems(resource):
    problems = []
    for path, value in _walk(resource):
        if isinstance(value, float):
            problems.append(f"{_where(path)}: binary float {value!r} (use Decimal)")
        elif value is None or value in ("", [], {}):
            problems.append(f"{_where(path)}: empty value (ele-1: no nulls, empty strings, "
                            "arrays or objects)")
        elif isinstance(value, dict) and path and path[-1] not in ("extension", "contained"):
            problems += _attachment_problems(path, value)
            problems += _period_problems(path, value)
            problems += _reference_problems(path, value, resource)
    if "id" in resource and not ID_RE.match(str(resource["id"])):
        problems.append(f"id: {resource['id']!r} is not a FHIR id")
    return problems


def _reference_problems(path, value, resource):
    """A literal reference is `Type/id` (optionally `/_history/v`), an absolute URL, a
    `urn:uuid:`/`urn:oid:`, or `#id` of a contained resource (ref-1)."""
    reference = value.get("reference")
    if not isinstance(reference, str) or path[-1] in ("valueString",):
        return []
    if reference.startswith("#"):
        contained = {inner.get("id") for inner in resource.get("contained", [])}
        return [] if reference[1:] in contained else [
            f"{_where(path)}: ref-1: {reference} names no contained resource"]
    if REFERENCE_RE.match(reference) or reference.startswith(("urn:uuid:", "urn:oid:")) \
            or re.match(r"^https?://", reference):
        return []
    return [f"{_where(path)}: reference {reference!r} is not Type/id, a URL or a urn"]


def _attachment_problems(path, value):
    if "data" not in value or "contentType" not in value and "title" not in value:
        return []
    problems = []
    try:
        data = base64.b64decode(value["data"], validate=True)
    except (ValueError, TypeError):
        return [f"{_where(path)}: data is not base64"]
    if "size" in value and value["size"] != len(data):
        problems.append(f"{_where(path)}: size {value['size']} but {len(data)} bytes of data")
    if "hash" in value and value["hash"] != base64.b64encode(hashlib.sha1(data).digest()).decode():
        problems.append(f"{_where(path)}: hash is not the base64 SHA-1 of the data")
    if "contentType" not in value:
        problems.append(f"{_where(path)}: att-1: data without contentType")
    return problems


def _moment(text):
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None


def _period_problems(path, value):
    if set(value) - {"start", "end", "id", "extension"} or not {"start", "end"} <= set(value):
        return []
    start, end = _moment(value["start"]), _moment(value["end"])
    if start and end and (start.tzinfo is None) == (end.tzinfo is None) and start > end:
        return [f"{_where(path)}: per-1: start after end"]
    return []


def _codings(concept):
    return [(c.get("system"), c.get("code")) for c in (concept or {}).get("coding", [])]


def _has_category(resource, code):
    return any((OBSERVATION_CATEGORY, code) in _codings(concept)
               for concept in resource.get("category", []))


def _quantity_problems(where, quantity, unit):
    problems = []
    if not isinstance(quantity, dict):
        return [f"{where}: vital sign without valueQuantity"]
    if not isinstance(quantity.get("value"), (int, Decimal)):
        problems.append(f"{where}: value must be a number")
    if quantity.get("system") != UCUM:
        problems.append(f"{where}: unit system must be UCUM ({UCUM})")
    if quantity.get("code") != unit:
        problems.append(f"{where}: UCUM unit must be {unit!r}, not {quantity.get('code')!r}")
    if not quantity.get("unit"):
        problems.append(f"{where}: a human-readable unit is required")
    return problems


def _vital_problems(resource):
    """The R4 vital-signs profile, for any Observation with a vital-sign code or category."""
    loincs = [code for system, code in _codings(resource.get("code")) if system == LOINC]
    vitals = [VITALS[code] for code in loincs if code in VITALS]
    flagged = _has_category(resource, "vital-signs")
    profiles = (resource.get("meta") or {}).get("profile", [])
    claimed = [vital for vital in VITALS.values() if vital.profile in profiles]
    if not vitals and not flagged and not claimed \
            and VITALSIGNS_PROFILE not in profiles:
        return []
    problems = []
    for vital in claimed:
        if vital not in vitals:
            problems.append(f"vital signs: profile {vital.profile} needs LOINC {vital.loinc}, "
                            f"the code holds {loincs or 'none'}")
    if not flagged:
        problems.append("vital signs: category must hold vital-signs "
                        f"({OBSERVATION_CATEGORY})")
    if not vitals:
        return problems + [f"vital signs: code must be one of the vital-sign LOINC codes "
                           f"{sorted(VITALS)}, not {loincs or 'none'}"]
    vital = vitals[0]
    if not str((resource.get("subject") or {}).get("reference", "")).startswith("Patient/"):
        problems.append("vital signs: subject must reference a Patient")
    if not (resource.get("effectiveDateTime") or resource.get("effectivePeriod")):
        problems.append("vital signs: effectiveDateTime or effectivePeriod is required")
    if profiles and not {vital.profile, VITALSIGNS_PROFILE} & set(profiles):
        problems.append(f"vital signs: meta.profile {profiles} does not name {vital.profile}")
    absent = "dataAbsentReason" in resource
    if vital is BLOOD_PRESSURE:
        parts = {}
        for component in resource.get("component", []):
            for system, code in _codings(component.get("code")):
                if system == LOINC and code in BP_COMPONENTS:
                    parts[code] = component
        for code, part in BP_COMPONENTS.items():
            if code not in parts:
                problems.append(f"vital signs: blood pressure needs the {part.name} "
                                f"component (LOINC {code})")
            elif "dataAbsentReason" not in parts[code]:
                problems += _quantity_problems(f"vital signs: component {code}",
                                               parts[code].get("valueQuantity"), part.unit)
        if any(key.startswith("value") for key in resource):
            problems.append("vital signs: the blood pressure panel has no value of its own")
    elif not absent:
        problems += _quantity_problems(f"vital signs: {vital.name}",
                                       resource.get("valueQuantity"), vital.unit)
    return problems


def _status_code(concept):
    return {code for _, code in _codings(concept)}


def _has_value(resource):
    return any(key.startswith("value") for key in resource)


def _in_error(resource):
    return "entered-in-error" in _status_code(resource.get("verificationStatus"))


def _problem_list_item(resource):
    return any((CONDITION_CATEGORY, "problem-list-item") in _codings(concept)
               for concept in resource.get("category", []))


_INVARIANTS = (  # (resource type, invariant, holds(resource), what it asks)
    ("Observation", "obs-6",
     lambda r: not (_has_value(r) and "dataAbsentReason" in r),
     "dataAbsentReason only when there is no value"),
    ("Observation", "obs-7",
     lambda r: not (_has_value(r) and any(_codings(c.get("code")) == _codings(r.get("code"))
                                          for c in r.get("component", []))),
     "a component repeats the code of an Observation with a value"),
    ("Condition", "con-3",
     lambda r: "clinicalStatus" in r or _in_error(r) or not _problem_list_item(r),
     "a problem-list item needs a clinicalStatus"),
    ("Condition", "con-4",
     lambda r: not any(key.startswith("abatement") for key in r)
     or _status_code(r.get("clinicalStatus")) & {"inactive", "resolved", "remission"},
     "an abated condition is inactive, resolved or in remission"),
    ("Condition", "con-5", lambda r: not (_in_error(r) and "clinicalStatus" in r),
     "clinicalStatus must be absent when entered-in-error"),
    ("AllergyIntolerance", "ait-1", lambda r: "clinicalStatus" in r or _in_error(r),
     "clinicalStatus is required unless entered-in-error"),
    ("AllergyIntolerance", "ait-2", lambda r: not (_in_error(r) and "clinicalStatus" in r),
     "clinicalStatus must be absent when entered-in-error"),
    ("Consent", "ppc-1", lambda r: r.get("policy") or r.get("policyRule"),
     "a Consent needs a policy or a policyRule"),
    ("Consent", "ppc-2..5",
     lambda r: r.get("patient") or not _status_code(r.get("scope")) & {
         "patient-privacy", "research", "adr", "treatment"},
     "a Consent of this scope needs a patient"),
    ("Appointment", "app-2", lambda r: ("start" in r) == ("end" in r),
     "start and end go together"),
    ("Appointment", "app-3",
     lambda r: "start" in r or r.get("status") in ("proposed", "cancelled", "waitlist"),
     "only proposed, cancelled or waitlist may lack start/end"),
    ("Provenance", "prov-target", lambda r: r.get("target"),
     "a Provenance needs at least one target"),
)


def _invariant_problems(resource):
    kind = resource.get("resourceType")
    return [f"{name}: {message}" for resource_type, name, holds, message in _INVARIANTS
            if resource_type == kind and not holds(resource)]


def _rule_problems(resource):
    problems = _generic_problems(resource) + _invariant_problems(resource)
    if resource.get("resourceType") == "Observation":
        problems += _vital_problems(resource)
    return problems


# The checks --------------------------------------------------------------------------------

def _round_trip(resource):
    """The resource as a consumer reads it: written by fhir_json, read back with Decimals."""
    return fhir_json.loads(fhir_json.dumps(resource))


def resource_problems(resource):
    """Every problem of one resource (a list of strings; empty when it passes)."""
    if not isinstance(resource, dict) or "resourceType" not in resource:
        return ["not a FHIR resource (no resourceType)"]
    problems = _rule_problems(resource)  # on the dict itself: floats show here
    try:
        parsed = _round_trip(resource)
    except (TypeError, ValueError) as exc:
        return problems + [f"not serializable as FHIR JSON: {exc}"]
    return problems + _model_problems(parsed) + _schema_problems(parsed)


def _label(resource):
    return f"{resource.get('resourceType')}/{resource.get('id')}" \
        if isinstance(resource, dict) else repr(resource)[:40]


def check_resource(resource):
    """AssertionError listing every problem of the resource, or nothing."""
    problems = resource_problems(resource)
    if problems:
        raise AssertionError(f"{_label(resource)}:\n  " + "\n  ".join(problems))


_ENTRY_PARTS = {"search": ("searchset",), "request": ("batch", "transaction", "history"),
                "response": ("batch-response", "transaction-response", "history")}


def bundle_problems(bundle):
    """Every problem of a Bundle: its own shape (entries without their resources) against
    the Bundle definition, each entry's resource three ways, and the Bundle invariants."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return ["not a Bundle"]
    kind = bundle.get("type")
    entries = bundle.get("entry", [])
    shell = dict(bundle, entry=[{key: value for key, value in entry.items() if key != "resource"}
                                for entry in entries])
    shell["entry"] = [entry for entry in shell["entry"] if entry]  # the resources come apart
    if not shell["entry"]:
        shell.pop("entry")
    problems = [f"Bundle: {problem}" for problem in
                _generic_problems(shell) + _schema_problems(_round_trip(shell))]
    if "total" in bundle and kind not in ("searchset", "history"):
        problems.append("bdl-1: total only in a search set or history")
    seen = set()
    for index, entry in enumerate(entries):
        for part, kinds in _ENTRY_PARTS.items():
            if part in entry and kind not in kinds:
                problems.append(f"entry/{index}: bdl-2..4: {part} not allowed in a {kind} Bundle")
        resource = entry.get("resource")
        full_url = entry.get("fullUrl")
        if full_url and "/_history/" in full_url:
            problems.append(f"entry/{index}: bdl-8: fullUrl has no version")
        if resource is None:
            if kind in ("collection", "searchset", "document"):
                problems.append(f"entry/{index}: no resource")
            continue
        if full_url and not full_url.startswith("urn:") \
                and not full_url.endswith(f"{resource.get('resourceType')}/{resource.get('id')}"):
            problems.append(f"entry/{index}: fullUrl {full_url} does not end with "
                            f"{_label(resource)}")
        key = (full_url, (resource.get("meta") or {}).get("versionId"))
        if full_url and key in seen:
            problems.append(f"entry/{index}: bdl-7: {full_url} twice with the same version")
        seen.add(key)
        problems += [f"entry/{index} {_label(resource)}: {problem}"
                     for problem in resource_problems(resource)]
    if kind == "document" and (not entries or
                               (entries[0].get("resource") or {}).get("resourceType")
                               != "Composition"):
        problems.append("bdl-11: a document Bundle starts with a Composition")
    if kind == "document" and not bundle.get("identifier"):
        problems.append("bdl-9: a document Bundle has an identifier")
    return problems


def check_bundle(bundle):
    """AssertionError listing every problem of the Bundle and its entries, or nothing."""
    problems = bundle_problems(bundle)
    if problems:
        raise AssertionError("Bundle:\n  " + "\n  ".join(problems))
