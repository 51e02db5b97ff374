"""The export's rows, through the models: fresh subject ids, one row per patient from the
index diagnosis, only the cohort."""
import csv
import io
import zipfile
from collections import Counter

from models.research import exports
from models.storage.db import get_db
from tests.research import cohort


def _rows(doc):
    with zipfile.ZipFile(io.BytesIO(bytes(doc["package"]))) as archive:
        return list(csv.DictReader(io.StringIO(archive.read(f"{doc['export_id']}.csv").decode())))


def test_each_export_draws_new_subject_ids_and_keeps_the_mapping_inside(world, make_account):
    study = cohort.consenting(world, make_account, 10)
    first, second = cohort.export(world, study), cohort.export(world, study)
    one, two = _rows(first), _rows(second)
    assert not {row["subject_id"] for row in one} & {row["subject_id"] for row in two}
    strip = lambda rows: Counter(tuple(v for k, v in sorted(r.items()) if k != "subject_id")
                                 for r in rows)
    assert strip(one) == strip(two)  # the same data, under new ids
    with world.app.app_context():
        mapped = list(get_db().research_subjects.find({"export_id": first["export_id"]}))
    assert {each["subject_id"] for each in mapped} == {row["subject_id"] for row in one}
    assert {each["patient_id"] for each in mapped} <= {p["human_id"] for p in world.patients}
    assert not any(p["human_id"] in bytes(first["package"]).decode("latin-1")
                   for p in world.patients)


def test_one_row_per_patient_from_the_first_matching_diagnosis(world, make_account):
    made = cohort.add_patients(world, make_account, 1, postcode="12345", codes=("E11.9",),
                               years=(2023, 2023))
    cohort.write(world, made[0], "diagnosis", {"code": "I10", "clinical_status": "active",
                                               "description": "x", "onset": "2019-06-01"})
    cohort.write(world, made[0], "diagnosis", {"code": "J45", "clinical_status": "active",
                                               "description": "x", "onset": "2018-06-01"})
    study = world.approved_study()
    world.opt_in_all(made[0])
    with world.app.app_context():
        pairs = exports.cohort_rows(get_db(), cohort.key(world), study,
                                    made[0]["created_at"].date())
    [(patient_id, row)] = pairs
    assert patient_id == made[0]["human_id"]
    assert (row["diagnosis_group"], row["year_of_diagnosis"]) == ("I10", "2019")  # J45 is not
    assert row["zip3"] == "123" and row["systolic_band"] != "unknown"        # in the cohort


def test_patients_outside_the_cohort_or_out_of_research_are_not_rows(world, make_account):
    inside = cohort.add_patients(world, make_account, 2, codes=("E11.9",))
    outside = cohort.add_patients(world, make_account, 1, codes=("J45",))
    study = world.approved_study()
    for patient in inside[:1] + outside:
        world.opt_in_all(patient)
    with world.app.app_context():
        pairs = exports.cohort_rows(get_db(), cohort.key(world), study,
                                    inside[0]["created_at"].date())
    assert [patient_id for patient_id, _ in pairs] == [inside[0]["human_id"]]


def test_the_data_dictionary_describes_every_column(world, make_account):
    study = cohort.consenting(world, make_account, 6)
    doc = cohort.export(world, study)
    with zipfile.ZipFile(io.BytesIO(bytes(doc["package"]))) as archive:
        lines = list(csv.DictReader(io.StringIO(
            archive.read(f"{doc['export_id']}-dictionary.csv").decode())))
        about = archive.read(f"{doc['export_id']}.json").decode()
    assert [line["column"] for line in lines] == ["subject_id"] + study["fields"]
    by_column = {line["column"]: line for line in lines}
    assert by_column["diagnosis_group"]["row_rule"].startswith("the index diagnosis")
    assert by_column["systolic_band"]["kind"] == "sensitive"
    data = {row["zip3"] for row in _rows(doc)}
    assert by_column["zip3"]["values"] == "; ".join(sorted(data))
    assert doc["csv_sha256"] in about and f'"k_reached": {doc["k_reached"]}' in about


def test_diagnosis_codes_select_the_cohort_even_when_it_is_drawn_from_vitals(world,
                                                                            make_account):
    inside = cohort.add_patients(world, make_account, 1, codes=("E11.9",))
    outside = cohort.add_patients(world, make_account, 1, codes=("J45",))
    study = world.approved_study(record_types_chosen=["general"],
                                 fields=["age_band", "systolic_band"])
    for patient in inside + outside:
        world.opt_in_all(patient)
    with world.app.app_context():
        pairs = exports.cohort_rows(get_db(), cohort.key(world), study,
                                    inside[0]["created_at"].date())
    assert [patient_id for patient_id, _ in pairs] == [inside[0]["human_id"]]
