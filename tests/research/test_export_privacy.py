"""What leaves in an export, checked against the source data and measured independently:

- opted-out or revoked patients never appear (hypothesis over random consent histories);
- no cell holds a name, id, date other than a year, age over 89, full postcode, phone, e-mail
  or free text of the source (every cell scanned), and every cell is in its column's closed
  vocabulary;
- every equivalence class has >= k rows (pandas groupby on the CSV as downloaded);
- a linkage attack with a patient's true quasi-identifiers matches 0 or >= k rows.
"""
import csv
import io
import re
import zipfile
from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.clinical import records
from models.core import record_types
from models.core.errors import Conflict
from models.research import catalogue, deidentify, exports
from models.storage.db import get_db
from tests.research import cohort

ALL_FIELDS = ", ".join(spec.key for spec in catalogue.FIELDS)
QUASI = ["age_band", "sex", "zip3", "year_of_diagnosis", "diagnosis_group"]


def _csv_rows(doc):
    with zipfile.ZipFile(io.BytesIO(bytes(doc["package"]))) as archive:
        return list(csv.DictReader(io.StringIO(archive.read(f"{doc['export_id']}.csv").decode())))


def _exported_patients(world, doc):
    with world.app.app_context():
        return {each["patient_id"] for each in get_db().research_subjects.find(
            {"export_id": doc["export_id"]})}


@pytest.fixture
def seeded(world, make_account):
    """40 patients with every kind of record the catalogue reads, all opted in, and an export
    of every catalogue field."""
    made = cohort.add_patients(world, make_account, 40)
    for n, patient in enumerate(made):
        cohort.write(world, patient, "prescription", {
            "medication": cohort.DRUGS[n % 3], "strength": "20 mg", "dose": "1 tablet",
            "route": "oral", "frequency": "Marbleby twice a day", "duration_days": "10",
            "quantity": "20", "refills": "0", "instructions": f"Zebrafinch instructions {n}"})
        if n % 4 == 0:
            cohort.write(world, patient, "allergy", {
                "substance": "Penicillanthrax", "category": "medication",
                "reaction": f"Hivesbloom {n}", "severity": "severe", "onset": "2021-05-06"})
            cohort.write(world, patient, "immunization", {
                "vaccine": "Tetravaxium", "dose_number": "1", "administered_on": "2022-09-10",
                "lot_number": f"LOT-{n}X", "site": "left_arm"})
            cohort.write(world, patient, "imaging", {
                "modality": "mri", "body_site": "Left knee", "performed_on": "2023-02-03",
                "findings": f"Meniscal fraylet {n}", "conclusion": "Grade II"})
        world.opt_in_all(patient)
    study = world.approved_study(
        fields=[spec.key for spec in catalogue.FIELDS], max_suppression=50,
        record_types_chosen=list(catalogue.COHORT_TYPES))
    return study, cohort.export(world, study)


def _source(world):
    """Every identifying value of the source: account fields and decrypted record values."""
    values, dates = set(), set()
    with world.app.app_context():
        db = get_db()
        for user in db.users.find({}):
            values |= {user["name"], user["username"], user["human_id"], user["actor"]}
            values |= set(user["name"].split())
            profile = user.get("profile") or {}
            values |= {str(profile[name]) for name in ("date_of_birth", "email", "phone",
                                                        "postcode") if profile.get(name)}
        for doc in db.records.find({}):
            values |= {doc["record_id"], doc["patient_id"], doc["author_id"]}
            data = records.data_of(cohort.key(world), doc)
            for spec in record_types.get(doc["type"]).fields:
                value = data.get(spec.name)
                if value is None:
                    continue
                if spec.kind == record_types.DATE:
                    dates.add(value)
                elif spec.name == "code":  # exported as its 3-character category only
                    values |= {value} if len(value) > 3 else set()
                elif spec.kind == record_types.TEXT and not _vocabulary_word(value):
                    values.add(str(value))
    return {value for value in values if len(value) >= 3}, dates


def _vocabulary_word(text):
    """A typed value that is itself a word of the catalogue's closed vocabularies (a known
    drug or vaccine name): exported as that word by design, so not free text."""
    return text.lower() in catalogue.MEDICATION_CLASSES or text in catalogue.VACCINES


def _before_the_gate(world, study, doc):
    """The de-identified rows before any generalisation: Safe Harbor alone must hold there."""
    with world.app.app_context():
        pairs = exports.cohort_rows(get_db(), cohort.key(world), study, doc["created_at"].date())
    return [dict(row, subject_id=deidentify.new_subject_id()) for _, row in pairs]


def test_no_cell_holds_an_identifier_a_full_date_or_free_text(world, seeded):
    study, doc = seeded
    rows = _csv_rows(doc)
    assert len(rows) == doc["patients"] >= 20
    values, dates = _source(world)
    assert "Quillon" in values and any(v.startswith("Zebrafinch") for v in values)
    for row in rows + _before_the_gate(world, study, doc):
        assert set(row) == {"subject_id"} | set(study["fields"])
        for column, cell in row.items():
            lowered = cell.lower()
            hits = [value for value in values if value.lower() in lowered]
            assert not hits, (column, cell, hits)
            assert not any(day in cell for day in dates), (column, cell)
            if column == "subject_id":  # random hex: its own test and vocabulary below
                continue
            assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}", cell)
            assert "@" not in cell, (column, cell)  # an e-mail
            assert not re.search(r"\d{5}", cell), (column, cell)  # a ZIP code, a long number
            bare = re.sub(r"^\d{1,4}-\d{1,4}$", "", cell)  # a band or a range of years
            assert not re.search(r"\d(?:[ \-()]?\d){5,}", bare), (column, cell)  # a phone


VOCABULARY = {
    "age_band": r"(\d{1,2}-\d{1,2}|90\+|\*|unknown)",
    "sex": r"(female|male|other|unknown|\*)",
    "zip3": r"(\d{3}|\d{2}\*|\*)",
    "year_of_diagnosis": r"(\d{4}|\d{4}-\d{4}|unknown)",
    "diagnosis_group": r"([A-Z]\d[0-9A-Z]|[IVX]+ [A-Z]\d\d-[A-Z]\d\d|none|\*)",
    "subject_id": r"S[0-9a-f]{16}",
}


def test_every_cell_is_in_its_columns_closed_vocabulary(world, seeded):
    study, doc = seeded
    closed = {"medication_class": set(catalogue.MEDICATION_CLASSES.values()),
              "medication_name": set(catalogue.MEDICATION_CLASSES),
              "vaccine": set(catalogue.VACCINES)}
    for row in _csv_rows(doc) + _before_the_gate(world, study, doc):
        for column, cell in row.items():
            if column in VOCABULARY:
                assert re.fullmatch(VOCABULARY[column], cell), (column, cell)
            elif column in closed:
                assert cell in closed[column] | {"other", "none"}, (column, cell)
            else:
                assert re.fullmatch(r"[A-Za-z0-9+<.\- ]{1,24}", cell), (column, cell)
        band = row["age_band"]
        if re.fullmatch(r"\d+-\d+", band):
            assert int(band.split("-")[1]) <= 89
        assert row["zip3"] not in deidentify.RESTRICTED_ZIP3 - {"000"}


def test_every_equivalence_class_has_at_least_k_rows(seeded):
    study, doc = seeded
    frame = pd.DataFrame(_csv_rows(doc))
    sizes = frame.groupby(QUASI, dropna=False).size()
    assert sizes.min() >= study["k"] == 5
    assert doc["k_reached"] == sizes.min()


def _compatible(cell, value, kind):
    """Whether an exported (possibly generalised) cell could hold the true value."""
    if cell == "*":
        return True
    if kind == "age":
        if cell == "90+":
            return value >= 90
        low, high = (int(part) for part in cell.split("-"))
        return low <= value <= high
    if kind == "year":
        low, high = (cell.split("-") + [cell])[:2]
        return int(low) <= value <= int(high)
    if kind == "zip":
        return value.startswith(cell.rstrip("*"))
    if kind == "diagnosis":
        if " " in cell:  # a chapter: "IV E00-E90"
            first, last = cell.split(" ")[1].split("-")
            return first <= value <= last
        return cell == value
    return cell == value


def test_a_linkage_attack_cannot_single_out_fewer_than_k_rows(world, seeded):
    """The attacker knows each seeded patient's birth date, sex, ZIP code and first matching
    diagnosis (code and onset) from elsewhere, and matches them against the export."""
    study, doc = seeded
    rows = _csv_rows(doc)
    exported = _exported_patients(world, doc)
    today = doc["created_at"].date()
    checked = 0
    with world.app.app_context():
        db = get_db()
        for patient in world.patients:
            profile = patient.get("profile") or {}
            diagnoses = [records.data_of(cohort.key(world), each) for each in db.records.find(
                {"patient_id": patient["human_id"], "type": "diagnosis"})]
            diagnoses = [d for d in diagnoses if d["code"][:3] in ("E11", "I10")]
            if not diagnoses or not profile:
                continue
            first = min(diagnoses, key=lambda d: d["onset"])
            born = date.fromisoformat(profile["date_of_birth"])
            age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
            known = [(age, "age_band", "age"), (profile["sex"], "sex", "sex"),
                     (deidentify.zip3(profile["postcode"]), "zip3", "zip"),
                     (int(first["onset"][:4]), "year_of_diagnosis", "year"),
                     (first["code"][:3], "diagnosis_group", "diagnosis")]
            matches = [row for row in rows
                       if all(_compatible(row[column], value, kind) for value, column, kind in known)]
            assert len(matches) == 0 or len(matches) >= study["k"], (patient["human_id"], known)
            if patient["human_id"] in exported:
                assert len(matches) >= study["k"]
                checked += 1
    assert checked >= 20


PLANS = st.lists(st.sampled_from(["never", "all", "named", "all-left", "named-left", "all-out",
                                  "named-out", "all-out-all", "all", "named"]),
                 min_size=12, max_size=12)
"""Each patient's consent history in one example ("all-left": in for all research, then left
this study); "all" and "named" twice, so that most examples have a cohort to export."""
PREFIXES = st.sets(st.sampled_from(["E10", "E11", "E13"]), min_size=1)
CODES = ("E10.9", "E11.9", "E13.9")


def test_opted_out_or_revoked_patients_never_appear(world, make_account):
    """Random cohorts (which diagnosis codes a study asks for) and random consent histories
    (joined, left, opted out, back in): an export holds only patients in for the study now and
    in its cohort, never one who opted out or left."""
    made = cohort.add_patients(world, make_account, 12, postcode="12345", codes=("E11.9",),
                               years=(2020, 2024))
    for n, patient in enumerate(made):  # a second diagnosis: the cohort depends on the codes
        cohort.write(world, patient, "diagnosis", {"code": CODES[n % 3], "clinical_status":
                                                   "active", "description": "x",
                                                   "onset": "2021-01-01"})
    codes = {patient["human_id"]: {"E11", CODES[n % 3][:3]} for n, patient in enumerate(made)}
    exported_some = []

    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(PLANS, PREFIXES)
    def check(plan, prefixes):
        study = world.approved_study(diagnosis_prefixes=", ".join(sorted(prefixes)),
                                     max_suppression=50)
        with world.app.app_context():  # each example starts from "everyone out" (the default)
            get_db().research_consents.delete_many({})
        wanted = set()
        for patient, steps in zip(made, plan):
            for step in steps.split("-"):
                {"all": world.opt_in_all, "out": world.opt_out,
                 "named": lambda p: world.join(p, study),
                 "left": lambda p: world.leave(p, study), "never": lambda p: None}[step](patient)
            if steps in ("all", "named", "all-out-all"):
                wanted.add(patient["human_id"])
        assert set(world.participants(study)) == wanted
        in_cohort = {pid for pid in wanted if codes[pid] & prefixes}
        try:
            doc = cohort.export(world, study)
        except Conflict as refused:
            assert ("fewer than k" in refused.message) == (len(in_cohort) < 5)
            return
        exported = _exported_patients(world, doc)
        assert exported <= in_cohort
        assert len(exported) == doc["patients"] == len(_csv_rows(doc))
        exported_some.append(len(exported))

    check()
    assert exported_some  # the property was not vacuous
