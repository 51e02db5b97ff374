"""A patient imports a FHIR Bundle: every entry accounted for, clinical ones as their own
documents with the resource attached verbatim, bad uploads refused whole (400/413, nothing
written), only patients, only with the CSRF token."""
import copy
import io
import json
import random
import re
from decimal import Decimal

import pytest

from app import create_app
from models.clinical import records
from models.core.errors import DomainError
from models.exchange import fhir_import, fhir_import_rules, fhir_json
from models.people import users
from models.storage import attachments
from models.storage.db import get_db
from tests.conftest import PASSWORD, AccountMaker, make_config
from tests.fhir.import_bundles import as_bytes, sample, with_entry
from tests.fhir.validation import schema

URL = "/patient/fhir-import"
CLINICAL = ("weight-1", "bp-1", "cond-1", "rx-1", "alg-1", "imm-1", "lab-1", "doc-1", "plan-1")


@pytest.fixture
def patient(make_account):
    return make_account(users.PATIENT, "importer", name="Pat Patient")


@pytest.fixture
def signed_in(client, auth, patient):
    assert auth.login("importer").status_code == 302
    return client


def upload(client, data, name="bundle.json"):
    return client.post(URL, data={"bundle": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def written(app):
    """What an import could have written: records, stored files, ledger blocks."""
    db = get_db(app)
    return (db.records.count_documents({}), db["attachments.files"].count_documents({}),
            db.ledger_blocks.count_documents({}))


def outcomes(page):
    return re.findall(r'data-testid="fhir-import-entry" data-outcome="([a-z-]+)"', page)


def test_each_clinical_entry_becomes_a_sealed_document_with_the_resource_attached(
        app, signed_in, patient):
    bundle = sample()
    response = upload(signed_in, as_bytes(bundle))
    assert response.status_code == 200
    assert outcomes(response.text) == ["not-clinical", "not-clinical"] + ["imported"] * 9 + \
        ["not-clinical"]
    db = get_db(app)
    docs = records.for_patient(db, patient["human_id"], projection=None)
    assert len(docs) == 9
    key = app.extensions["medledger"]["data_key"]
    originals = {entry["resource"]["id"]: entry["resource"] for entry in bundle["entry"]}
    kept = {}
    for doc in docs:
        assert (doc["type"], doc["author_id"], doc["patient_id"]) == (
            "patient_provided", patient["human_id"], patient["human_id"])
        assert doc["sealed_height"] is not None
        [meta] = doc["attachments"]
        assert meta["media_type"] == "application/fhir+json"
        resource = json.loads(attachments.read(db, key, doc["patient_id"], meta),
                              parse_float=Decimal)
        kept[resource["id"]] = (resource, records.data_of(key, doc))
    assert sorted(kept) == sorted(CLINICAL)
    for resource_id, (resource, _) in kept.items():
        assert resource == json.loads(json.dumps(originals[resource_id]), parse_float=Decimal)
    weight = kept["weight-1"][1]
    assert weight["title"] == "Observation: Body weight (FHIR import)"
    assert "Value (valueQuantity): 72.5 kg (http://unitsofmeasure.org|kg)" in weight["symptoms"]
    assert "http://loinc.org|29463-7" in weight["symptoms"]
    assert "131 mmHg" in kept["bp-1"][1]["symptoms"] and "87 mmHg" in kept["bp-1"][1]["symptoms"]
    assert "icd-10|E11.9" in kept["cond-1"][1]["symptoms"]
    assert "Snorklewalk" in kept["plan-1"][1]["symptoms"]  # a type without its own wording


def test_the_result_page_lists_every_entry_and_why_some_were_not_imported(signed_in):
    page = upload(signed_in, as_bytes(sample())).text
    assert "12 entries:" in page and "9 imported" in page and "3 not imported" in page
    for label in ("Patient/ext-77", "Practitioner/dr-1", "Provenance/prov-1", "CarePlan/plan-1"):
        assert label in page
    assert "your own details stay as registered here" in page
    assert "grants or proves nothing here" in page
    assert re.search(r'href="/patient/records/PAT-\d+-R1/v1"', page)


def test_numbers_are_kept_exactly_as_written(app, signed_in, patient):
    raw = as_bytes(sample()).replace(b'"value": 72.5,', b'"value": 72.50,')
    assert b"72.50" in raw
    assert upload(signed_in, raw).status_code == 200
    db = get_db(app)
    key = app.extensions["medledger"]["data_key"]
    doc = next(doc for doc in records.for_patient(db, patient["human_id"], projection=None)
               if doc["attachments"][0]["name"] == "Observation-weight-1.json")
    assert b'"value": 72.50,' in attachments.read(db, key, doc["patient_id"],
                                                  doc["attachments"][0])
    assert "72.50 kg" in records.data_of(key, doc)["symptoms"]


def test_the_same_bundle_twice_adds_nothing_the_second_time(app, signed_in):
    upload(signed_in, as_bytes(sample()))
    before = written(app)
    again = upload(signed_in, as_bytes(sample()))
    assert again.status_code == 200
    assert outcomes(again.text).count("already-imported") == 9
    assert written(app) == before


def test_a_bundle_about_someone_else_is_kept_as_the_uploaders_copy_and_says_so(app, signed_in,
                                                                                patient):
    page = upload(signed_in, as_bytes(sample(patient_name="Olga Stranger"))).text
    assert outcomes(page).count("imported") == 9
    assert "about another person (Olga Stranger, Patient/ext-77)" in page
    doc = records.for_patient(get_db(app), patient["human_id"], projection=None)[0]
    data = records.data_of(app.extensions["medledger"]["data_key"], doc)
    assert "Note from the import: It is about another person" in data["symptoms"]


def _observation(**fields):
    return dict({"resourceType": "Observation", "id": "x-1", "status": "final",
                 "code": {"text": "Ticklewhorl"}}, **fields)


BAD = {
    "not JSON": (b"{not json", "not valid JSON"),
    "XML": (b'<Bundle xmlns="http://hl7.org/fhir"/>', "looks like XML"),
    "not UTF-8": (b'{"resourceType": "Bundle", "x": "\xff"}', "not UTF-8"),
    "empty": (b"", "The file is empty"),
    "JSON, not FHIR": (b'{"hello": "world"}', "not a FHIR resource"),
    "not a Bundle": (b'{"resourceType": "Patient", "id": "p"}', "This is a FHIR Patient, not a Bundle"),
    "not an R4 Bundle type": (as_bytes(dict(sample(), type="subscription-notification")),
                              "not an R4 Bundle"),
    "no entries": (b'{"resourceType": "Bundle", "type": "collection", "entry": []}',
                   "no entries"),
    "a duplicate key": (b'{"resourceType": "Bundle", "type": "collection", "type": "batch"}',
                        "appears twice"),
    "NaN": (b'{"resourceType": "Bundle", "type": "collection", "total": NaN}', "NaN"),
    "a type R4 lacks": (as_bytes(with_entry(sample(), {"resourceType": "MedicationOrder"})),
                        "entry 13 (MedicationOrder): MedicationOrder is not a FHIR R4 resource type"),
    "an R5 shape": (as_bytes(with_entry(sample(), {
        "resourceType": "MedicationRequest", "id": "r5", "status": "active", "intent": "order",
        "medication": {"concept": {"text": "X"}}, "subject": {"reference": "Patient/1"}})),
        "entry 13 (MedicationRequest/r5): it uses R5's `medication`"),
    "a missing required element": (as_bytes(with_entry(sample(), _observation(code=None))),
                                   "entry 13 (Observation/x-1): code is required"),
    "a status R4 lacks": (as_bytes(with_entry(sample(), _observation(status="done"))),
                          "status 'done' is not one of R4's codes"),
    "no resourceType": (as_bytes(with_entry(sample(), {"id": "a"})), "entry 13: it has no "
                        "resourceType"),
    "a lone surrogate": (b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource"'
                         b': {"resourceType": "Basic", "code": {"text": "\\ud800"}}}]}',
                         "not valid Unicode"),
    "nested too deeply": (b'{"resourceType": "Bundle", "type": "collection", "entry": ['
                          + b"[" * 200 + b"]" * 200 + b"]}", "nested too deeply"),
}


def test_a_bad_upload_is_a_400_that_names_the_problem_and_writes_nothing(app, signed_in):
    """One app for every case (each would cost an app start-up); each case checked alone."""
    before = written(app)
    wrong = {}
    for name, (data, message) in BAD.items():
        response = upload(signed_in, data)
        text = response.text.replace("&#39;", "'").replace("&lt;", "<")
        if response.status_code != 400 or message not in text or written(app) != before:
            wrong[name] = (response.status_code, written(app))
    assert wrong == {}
    assert before == (0, 0, before[2])


def test_every_bad_entry_is_named_at_once(app, signed_in):
    bundle = with_entry(with_entry(sample(), _observation(status="done")), {"resourceType": "Foo"})
    response = upload(signed_in, as_bytes(bundle))
    assert response.status_code == 400
    assert "Nothing was imported." in response.text
    assert "entry 13 (Observation/x-1)" in response.text and "entry 14 (Foo)" in response.text


def test_over_the_size_limit_is_a_413_and_writes_nothing(app, signed_in):
    app.config["MAX_FHIR_IMPORT_BYTES"] = 2000
    before = written(app)
    response = upload(signed_in, as_bytes(sample()))
    assert response.status_code == 413
    assert "larger than the limit of 2000 bytes" in response.text
    assert written(app) == before


def test_other_roles_are_refused(app, client, auth, make_account):
    for role in (users.DOCTOR, users.LAB_TECH, users.ADMIN):
        account = make_account(role)
        auth.login(account["username"])
        assert client.get(URL).status_code == 403, role
        assert upload(client, as_bytes(sample())).status_code == 403, role
        auth.logout()
    assert written(app)[0] == 0


def test_the_upload_needs_the_csrf_token(tmp_path):
    app = create_app(make_config(tmp_path, WTF_CSRF_ENABLED=True))
    AccountMaker(app)(users.PATIENT, "csrfpatient", name="Pat Patient")
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/login").text).group(1)
    assert client.post("/login", data={"username": "csrfpatient", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    assert upload(client, as_bytes(sample())).status_code == 400
    assert written(app)[0] == 0
    page = client.get(URL).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    accepted = client.post(URL, data={"bundle": (io.BytesIO(as_bytes(sample())), "b.json"),
                                      "csrf_token": token}, content_type="multipart/form-data")
    assert accepted.status_code == 200 and written(app)[0] == 9


def test_the_attached_resource_downloads_as_fhir_json(app, signed_in, patient):
    upload(signed_in, as_bytes(sample()))
    doc = records.for_patient(get_db(app), patient["human_id"])[0]
    response = signed_in.get(f"/patient/records/{doc['record_id']}/v1/files/0")
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert json.loads(response.data)["resourceType"]


@pytest.mark.parametrize("data,media_type", [
    (b'{"resourceType": "Observation", "status": "final"}', "application/fhir+json"),
    (b'  {"id": 1, "resourceType": "Bundle"}', "application/fhir+json"),
    (b'{"resourceType": "<script>"}', None), (b'{"hello": 1}', None), (b'{"resourceType": ', None),
    (b"[1, 2]", None),
])
def test_a_fhir_resource_is_sniffed_from_its_content(data, media_type):
    assert attachments.sniff(data) == media_type


def test_the_dashboard_links_to_the_import(signed_in):
    assert f'href="{URL}"' in signed_in.get("/patient/").text


def test_entries_past_the_limit_are_refused_before_anything_is_written(app, signed_in,
                                                                     monkeypatch):
    monkeypatch.setattr(fhir_import, "MAX_ENTRIES", 11)
    response = upload(signed_in, as_bytes(sample()))
    assert response.status_code == 400 and "upload at most 11 at a time" in response.text
    assert written(app) == (0, 0, written(app)[2])


def test_past_the_writes_of_one_upload_the_rest_wait_for_the_same_file_again(app, signed_in,
                                                                             monkeypatch):
    monkeypatch.setattr(fhir_import, "MAX_WRITES", 4)
    first = upload(signed_in, as_bytes(sample())).text
    assert outcomes(first).count("imported") == 4 and outcomes(first).count("later") == 5
    assert "5 more entries wait" in first and written(app)[0] == 4
    second = upload(signed_in, as_bytes(sample())).text
    assert (outcomes(second).count("already-imported"), outcomes(second).count("imported"),
            outcomes(second).count("later")) == (4, 4, 1)
    third = upload(signed_in, as_bytes(sample())).text
    assert outcomes(third).count("imported") == 1 and "more entries wait" not in third
    assert written(app)[0] == 9


def test_the_apps_r4_tables_agree_with_hls_official_schema():
    """The app cannot load the schema (test-only), so its own tables are checked against it:
    the 146 resource types, and every element the schema requires of a known type."""
    root = schema()
    assert fhir_import_rules.R4_RESOURCE_TYPES == set(root["discriminator"]["mapping"])
    assert fhir_import_rules.NOT_CLINICAL <= fhir_import_rules.R4_RESOURCE_TYPES
    for kind, (required, codes) in fhir_import_rules.REQUIRED.items():
        definition = root["definitions"][kind]
        assert set(definition["required"]) - {"resourceType"} <= set(required), kind
        for element in required:
            stem = element.removesuffix("[x]")
            assert any(name == stem or name.startswith(stem) and element.endswith("[x]")
                       for name in definition["properties"]), (kind, element)
        for element, allowed in codes.items():
            if "enum" in definition["properties"][element]:
                assert set(allowed) == set(definition["properties"][element]["enum"]), kind


def test_a_binary_is_kept_a_nested_bundle_and_a_bare_request_are_listed(app, signed_in):
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Binary", "id": "pdf-1", "contentType": "application/pdf",
                      "data": "JVBERi0xLjQK"}, "request": {"method": "POST", "url": "Binary"}},
        {"resource": {"resourceType": "Bundle", "type": "collection"},
         "request": {"method": "POST", "url": "Bundle"}},
        {"request": {"method": "DELETE", "url": "Observation/old-1"}},
    ]}
    page = upload(signed_in, as_bytes(bundle)).text
    assert outcomes(page) == ["imported", "not-clinical", "empty"]
    assert "upload it on its own to import its entries" in page
    assert "The entry carries no resource" in page
    assert written(app)[0] == 1


_ODD_VALUES = (None, True, 0, Decimal("1.50"), "", "\x00\x07", [], {}, [1, "a"], {"a": 1},
               {"coding": {"code": "x"}}, {"coding": [1]}, {"coding": "x"}, {"reference": 5},
               [None], {"value": "x", "unit": 3}, {"start": 1}, {"text": ["a"]})


def _paths(value, path=()):
    yield path
    children = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for name, inner in children:
        yield from _paths(inner, path + (name,))


def test_odd_values_anywhere_are_refused_or_described_never_a_crash(app, patient):
    """Any element of the sample Bundle replaced by an odd JSON value (a fixed random walk):
    the import either refuses it as a domain error (400) or describes it; nothing else."""
    rng = random.Random(13)
    base = sample()
    crashes = []
    with app.app_context():
        db = get_db()
        for _ in range(150):
            bundle = copy.deepcopy(base)
            path = rng.choice([path for path in _paths(bundle) if len(path) >= 2])
            target = bundle
            for name in path[:-1]:
                target = target[name]
            target[path[-1]] = copy.deepcopy(rng.choice(_ODD_VALUES))
            try:
                fhir_import.plan(db, patient, fhir_json.dumps(bundle).encode(), max_bytes=10**7)
            except DomainError:
                pass
            except Exception as exc:  # noqa: BLE001 - the point of the test
                crashes.append((path, type(exc).__name__, str(exc)))
    assert crashes == []
