"""Records: typed validation, BMI, encryption at rest, versions, entered-in-error, sealing."""
import bson
import pytest

from models.clinical import records
from models.core import record_types
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.storage import crypto
from models.storage.db import get_db
from tests.records.world import SECRET, VALID

CLINICIAN_TYPES = [name for name in VALID if name not in ("patient_provided", "lab_report")]


def _author(world, type_name):
    return world.patient if type_name == "patient_provided" else world.doctor


@pytest.mark.parametrize("type_name", CLINICIAN_TYPES + ["patient_provided"])
def test_each_type_is_written_sealed_and_read_back(world, type_name):
    doc = world.write(_author(world, type_name), type_name)
    assert doc["record_id"] == f"{world.patient['human_id']}-R1"
    assert (doc["version"], doc["status"], doc["type"]) == (1, records.FINAL, type_name)
    stored = world.find_one("records", {"record_id": doc["record_id"]})
    block = world.find_one("ledger_blocks", {"_id": stored["sealed_height"]})
    assert block["kind"] == records.CREATED
    assert block["subject"] == {"record": doc["record_id"], "version": 1}
    data = records.data_of(world.key, stored)
    spec = record_types.TYPES[type_name]
    for field in spec.fields:
        given = VALID[type_name].get(field.name)
        if given:
            assert str(data[field.name]) == given or data[field.name] == given.upper()


@pytest.mark.parametrize("type_name", CLINICIAN_TYPES + ["patient_provided"])
def test_the_raw_document_holds_no_clinical_value_in_clear(world, type_name):
    doc = world.write(_author(world, type_name), type_name)
    raw = bson.encode(world.find_one("records", {"_id": doc["_id"]}))
    for value in VALID[type_name].values():
        if len(value) >= 4 and value not in ("oral", "active", "medication"):
            assert value.encode() not in raw, value
    assert SECRET[type_name].encode() not in raw
    block = bson.encode(world.find_one("ledger_blocks", {"_id": doc["sealed_height"]}))
    assert SECRET[type_name].encode() not in block


def test_record_ids_count_per_patient(world):
    first = world.write(world.doctor, "note")
    other = world.write(world.doctor, "note", patient=world.other_patient)
    second = world.write(world.doctor, "note")
    assert first["record_id"].endswith("-R1") and second["record_id"].endswith("-R2")
    assert other["record_id"] == f"{world.other_patient['human_id']}-R1"


@pytest.mark.parametrize("weight,height,bmi,category", [
    ("72.5", "180.0", "22.4", "Normal weight"),
    ("50", "180", "15.4", "Underweight"),
    ("80", "170", "27.7", "Overweight"),
    ("120.0", "165.5", "43.8", "Obesity"),
    ("57.8", "176.0", "18.7", "Normal weight"),
])
def test_bmi_is_computed_to_one_decimal_with_its_category(world, weight, height, bmi, category):
    doc = world.write(world.doctor, "general", raw={"weight_kg": weight, "height_cm": height})
    data = records.data_of(world.key, world.find_one("records", {"_id": doc["_id"]}))
    assert (data["bmi"], data["bmi_category"]) == (bmi, category)
    assert isinstance(data["weight_kg"], str)  # decimals stay strings, never floats


def test_bmi_rounds_half_up_on_exact_decimals():
    # 18.45 exactly: a binary float would round it down to 18.4.
    assert record_types.bmi("18.45", "100.0") == "18.5"


BAD_INPUT = [
    ("general", {"weight_kg": "900", "height_cm": "180"}, "weight_kg", "between 0.5 and 500"),
    ("general", {"weight_kg": "70.55", "height_cm": "180"}, "weight_kg", "decimal"),
    ("general", {"weight_kg": "abc", "height_cm": "180"}, "weight_kg", "number"),
    ("general", {"weight_kg": "70"}, "height_cm", "together"),
    ("general", {"systolic_mmhg": "120", "diastolic_mmhg": "120"}, "diastolic_mmhg", "lower than"),
    ("general", {"systolic_mmhg": "120"}, "diastolic_mmhg", "together"),
    ("general", {"spo2_percent": "101"}, "spo2_percent", "between 50 and 100"),
    ("general", {"temperature_c": "29.9"}, "temperature_c", "between 30.0 and 45.0"),
    ("general", {"heart_rate_bpm": "72.5"}, "heart_rate_bpm", "whole number"),
    ("general", {"blood_group_abo": "C", "blood_group_rh": "+"}, "blood_group_abo", "listed values"),
    ("general", {"blood_group_abo": "A"}, "blood_group_rh", "both parts"),
    ("general", {}, "weight_kg", "at least one"),
    ("diagnosis", {"clinical_status": "active"}, "description", "required"),
    ("diagnosis", {"description": "x", "clinical_status": "active", "code": "hello"}, "code", "ICD-10"),
    ("diagnosis", {"description": "x", "clinical_status": "active", "onset": "2999-01-01"}, "onset",
     "future"),
    ("diagnosis", {"description": "x", "clinical_status": "active", "onset": "01/02/2020"}, "onset",
     "YYYY-MM-DD"),
    ("prescription", dict(VALID["prescription"], quantity="0"), "quantity", "between 1 and 1000"),
    ("prescription", dict(VALID["prescription"], route="teleport"), "route", "listed values"),
    ("prescription", dict(VALID["prescription"], medication=""), "medication", "required"),
    ("prescription", dict(VALID["prescription"], medication="x" * 121), "medication", "too long"),
    ("prescription", dict(VALID["prescription"], medication="two\nlines"), "medication", "single line"),
    ("note", {"title": "t", "text": "bad \x00 byte"}, "text", "cannot be stored"),
    ("immunization", dict(VALID["immunization"], dose_number="11"), "dose_number", "between 1 and 10"),
    ("patient_provided", {"title": "Only a title"}, "symptoms", "attach"),
]


@pytest.mark.parametrize("type_name,raw,field,message", BAD_INPUT)
def test_bad_input_names_the_field_and_writes_nothing(world, type_name, raw, field, message):
    author = _author(world, type_name)
    blocks_before = world.count("ledger_blocks")
    with pytest.raises(InvalidInput) as caught:
        world.write(author, type_name, raw=raw)
    assert message in caught.value.field_errors[field]
    assert world.count("records") == 0
    assert world.count("ledger_blocks") == blocks_before


def test_every_problem_is_reported_at_once(world):
    with pytest.raises(InvalidInput) as caught:
        world.write(world.doctor, "prescription", raw={"route": "oral", "quantity": "5000"})
    assert {"medication", "strength", "dose", "frequency", "duration_days", "quantity",
            "refills"} <= set(caught.value.field_errors)


def test_who_may_write_what(world):
    with pytest.raises(Forbidden):
        world.write(world.patient, "diagnosis")
    with pytest.raises(Forbidden):
        world.write(world.doctor, "patient_provided")
    with pytest.raises(Forbidden):
        world.write(world.other_patient, "patient_provided", patient=world.patient)
    with pytest.raises(Forbidden):
        world.write(world.pharmacist, "prescription")
    with pytest.raises(Forbidden):
        world.write(world.lab_tech, "lab_report")  # the patient has not granted the lab
    with pytest.raises(NotFound):
        world.write(world.doctor, "note", patient={"human_id": "PAT-999999"})
    assert world.count("records") == 0


def _amend(world, author, doc, raw):
    with world.app.app_context():
        return records.amend(get_db(), world.key, author=author, record_id=doc["record_id"],
                             version=doc["version"], raw=raw, max_bytes=10**6)


def test_an_amendment_is_a_new_version_and_both_stay_readable(world):
    first = world.write(world.doctor, "diagnosis")
    second = _amend(world, world.doctor, first, dict(VALID["diagnosis"], description="Revised text"))
    old = world.find_one("records", {"record_id": first["record_id"], "version": 1})
    new = world.find_one("records", {"record_id": first["record_id"], "version": 2})
    assert (old["status"], old["superseded_by"]) == (records.AMENDED, 2)
    assert (new["status"], new["supersedes"], second["version"]) == (records.FINAL, 1, 2)
    assert records.data_of(world.key, old)["description"] == VALID["diagnosis"]["description"]
    assert records.data_of(world.key, new)["description"] == "Revised text"
    block = world.find_one("ledger_blocks", {"_id": new["sealed_height"]})
    assert (block["kind"], block["subject"]) == (records.AMENDED_KIND,
                                                 {"record": first["record_id"], "version": 2})


def test_a_superseded_version_cannot_be_amended_again(world):
    first = world.write(world.doctor, "note")
    _amend(world, world.doctor, first, VALID["note"])
    with pytest.raises(Conflict):
        _amend(world, world.doctor, first, VALID["note"])
    assert world.count("records") == 2


def test_only_the_author_amends(world):
    first = world.write(world.doctor, "note")
    with pytest.raises(Forbidden):
        _amend(world, world.colleague, first, VALID["note"])
    with pytest.raises(Forbidden):
        _amend(world, world.patient, first, VALID["note"])
    mine = world.write(world.patient, "patient_provided")
    with pytest.raises(Forbidden):
        _amend(world, world.doctor, mine, VALID["patient_provided"])
    assert world.find_one("records", {"_id": first["_id"]})["status"] == records.FINAL


def test_entered_in_error_is_a_sealed_status_not_a_delete(world):
    doc = world.write(world.doctor, "allergy")
    with world.app.app_context():
        with pytest.raises(InvalidInput):
            records.mark_entered_in_error(get_db(), user=world.doctor, record_id=doc["record_id"],
                                          version=1, reason="  ")
        with pytest.raises(Forbidden):
            records.mark_entered_in_error(get_db(), user=world.colleague,
                                          record_id=doc["record_id"], version=1, reason="Wrong")
        records.mark_entered_in_error(get_db(), user=world.doctor, record_id=doc["record_id"],
                                      version=1, reason="Wrong patient")
        with pytest.raises(Conflict):
            records.mark_entered_in_error(get_db(), user=world.doctor,
                                          record_id=doc["record_id"], version=1, reason="Again")
    stored = world.find_one("records", {"_id": doc["_id"]})
    assert stored["status"] == records.ENTERED_IN_ERROR
    assert records.data_of(world.key, stored)["substance"] == VALID["allergy"]["substance"]
    block = world.find_one("ledger_blocks", {"_id": stored["error"]["sealed_height"]})
    assert block["kind"] == records.ERROR_KIND


def test_an_edited_ciphertext_fails_its_tag(world):
    doc = world.write(world.doctor, "note")
    stored = world.find_one("records", {"_id": doc["_id"]})
    box = dict(stored["box"])
    box["ciphertext"] = bytes([box["ciphertext"][0] ^ 1]) + bytes(box["ciphertext"][1:])
    with pytest.raises(crypto.TamperedCiphertext):
        records.data_of(world.key, dict(stored, box=box))


def test_a_ciphertext_moved_to_another_record_or_version_fails(world):
    one = world.find_one("records", {"_id": world.write(world.doctor, "note")["_id"]})
    two = world.find_one("records", {"_id": world.write(world.doctor, "note")["_id"]})
    with pytest.raises(crypto.TamperedCiphertext):
        records.data_of(world.key, dict(two, box=one["box"]))
    with pytest.raises(crypto.TamperedCiphertext):
        records.data_of(world.key, dict(one, version=2))


def test_a_wrong_key_fails(world):
    doc = world.find_one("records", {"_id": world.write(world.doctor, "note")["_id"]})
    with pytest.raises(crypto.TamperedCiphertext):
        records.data_of(bytes(32), doc)
