"""Exports over HTTP: only the approved study's researcher creates and downloads (once, before
expiry); other researchers, other roles and other studies get 404 / 403; each step is sealed
and the audit finds the sealed attributes in the documents."""
import hashlib
import re
import io
import zipfile
from datetime import timedelta

import pytest

from models.core.clock import now_ms
from models.people import users
from models.research import exports
from models.sealing import audit_jobs
from models.storage.db import get_db
from tests.conftest import as_the_app, csrf_token_from
from tests.research import cohort
from tests.support_people import blocks_of_kind


@pytest.fixture
def seeded(world, make_account):
    world.study_doc = cohort.consenting(world, make_account, 12, max_suppression=10)
    return world


def _token(client, path):
    return csrf_token_from(client.get(path).get_data(as_text=True))


def _create(client, study_id):
    page = f"/research/studies/{study_id}/exports"
    return client.post(page, data={"csrf_token": _token(client, page)})


def _download(client, study_id, export_id):
    token = _token(client, f"/research/studies/{study_id}/exports")
    return client.post(f"/research/exports/{export_id}/download", data={"csrf_token": token})


def _exports(app):
    with app.app_context():
        return list(get_db().research_exports.find({}))


def test_the_researcher_creates_and_downloads_once_and_both_are_sealed(app, client, auth,
                                                                       seeded):
    auth.login(seeded.researcher["username"])
    study_id = seeded.study_doc["study_id"]
    created = _create(client, study_id)
    assert created.status_code == 302
    [doc] = _exports(app)
    page = client.get(f"/research/studies/{study_id}/exports").get_data(as_text=True)
    assert doc["export_id"] in page and doc["csv_sha256"] in page
    got = _download(client, study_id, doc["export_id"])
    assert got.status_code == 200 and got.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(got.data)) as archive:
        data = archive.read(f"{doc['export_id']}.csv")
        assert f"{doc['export_id']}-dictionary.csv" in archive.namelist()
    assert hashlib.sha256(data).hexdigest() == doc["csv_sha256"]
    again = _download(client, study_id, doc["export_id"])
    assert again.status_code == 409 and b"already downloaded" in again.data
    [stored] = _exports(app)
    assert "package" not in stored and stored["downloaded_by"] == seeded.researcher["human_id"]
    for kind in (exports.CREATED_KIND, exports.DOWNLOADED_KIND):
        [block] = blocks_of_kind(app, kind)
        assert block["subject"] == {"export": doc["export_id"]}
    with app.app_context():
        # (the test doctor is made verified directly, without the sealed licence review)
        problems = [p.to_dict() for p in audit_jobs.run_audit(get_db(), app).problems
                    if p.record != seeded.doctor["human_id"]]
        assert problems == []
        get_db().research_exports.update_one({"_id": stored["_id"]},
                                             {"$set": {"k_reached": 99}})
        found = {(p.kind, p.attribute) for p in audit_jobs.run_audit(get_db(), app).problems}
    assert ("attribute-mismatch", "k_reached") in found


def test_other_researchers_other_roles_and_other_studies_get_404_or_403(app, client, auth,
                                                                       seeded, make_account):
    study_id = seeded.study_doc["study_id"]
    auth.login(seeded.researcher["username"])
    _create(client, study_id)
    [doc] = _exports(app)
    other = make_account(users.RESEARCHER, org_id=seeded.org["human_id"], name="Other Searcher")
    auth.logout()
    auth.login(other["username"])
    assert client.get(f"/research/studies/{study_id}/exports").status_code == 404
    token = _token(client, "/research/")
    assert client.post(f"/research/studies/{study_id}/exports",
                       data={"csrf_token": token}).status_code == 404
    assert client.post(f"/research/exports/{doc['export_id']}/download",
                       data={"csrf_token": token}).status_code == 404
    for role in (users.PATIENT, users.DOCTOR, users.ADMIN, users.AUDITOR, users.ORG_MANAGER,
                 users.PHARMACIST, users.LAB_TECH, users.FRONT_DESK):
        account = make_account(role)
        auth.logout()
        auth.login(account["username"])
        token = _token(client, "/")
        assert client.post(f"/research/exports/{doc['export_id']}/download",
                           data={"csrf_token": token}).status_code == 403
        assert client.post(f"/research/studies/{study_id}/exports",
                           data={"csrf_token": token}).status_code == 403
    auth.logout()
    auth.login(seeded.researcher["username"])
    pending = seeded.study(title="A study still waiting")
    assert _create(client, pending["study_id"]).status_code == 409
    assert client.get("/research/studies/STU-999999/exports").status_code == 404
    assert _download(client, study_id, "EXP-999999").status_code == 404
    assert len(_exports(app)) == 1 and _exports(app)[0].get("downloaded_at") is None


def test_an_expired_or_forged_export_is_not_given_out(app, client, auth, seeded):
    study_id = seeded.study_doc["study_id"]
    auth.login(seeded.researcher["username"])
    _create(client, study_id)
    _create(client, study_id)
    first, second = _exports(app)
    as_the_app(app, "research_exports", {"_id": first["_id"]},
               {"$set": {"expires_at": now_ms() - timedelta(minutes=1)}})
    expired = _download(client, study_id, first["export_id"])
    assert expired.status_code == 409 and b"expired" in expired.data
    _create(client, study_id)  # the next export deletes the package nobody fetched in time
    assert "package" not in _exports(app)[0] and "package" in _exports(app)[1]
    with app.app_context():  # an insider "un-downloads" or redirects an export: it decides nothing
        get_db().research_exports.update_one({"_id": second["_id"]},
                                             {"$set": {"researcher_id": "STF-000999"}})
    assert _download(client, study_id, second["export_id"]).status_code == 404
    assert blocks_of_kind(app, exports.DOWNLOADED_KIND) == []


def test_a_cohort_too_small_is_refused_with_a_clear_message(app, client, auth, world,
                                                            make_account):
    cohort.add_patients(world, make_account, 4, postcode="12345", codes=("E11.9",))
    for patient in world.patients[:4]:
        world.opt_in_all(patient)
    study = world.approved_study()
    auth.login(world.researcher["username"])
    refused = _create(client, study["study_id"])
    assert refused.status_code == 409
    assert b"fewer than k = 5" in refused.data
    assert _exports(app) == [] and blocks_of_kind(app, exports.CREATED_KIND) == []


def test_a_cohort_too_unique_is_refused_with_a_clear_message(app, client, auth, world,
                                                             make_account):
    made = cohort.add_patients(world, make_account, 10, postcode="12345")
    chapters = ["A01", "C50", "E11", "F32", "I10", "J45", "K50", "M54", "N18", "Z00"]
    for patient, code in zip(made, chapters):
        cohort.write(world, patient, "diagnosis", {"code": code, "clinical_status": "active",
                                                   "description": "x", "onset": "2018-01-01"})
        world.opt_in_all(patient)
    study = world.approved_study(diagnosis_prefixes="A, C, F, I, J, K, M, N, Z")
    auth.login(world.researcher["username"])
    refused = _create(client, study["study_id"])
    assert refused.status_code == 409 and b"too unique" in refused.data
    assert _exports(app) == []


def test_auditors_see_every_export(app, client, auth, seeded, make_account):
    auth.login(seeded.researcher["username"])
    _create(client, seeded.study_doc["study_id"])
    [doc] = _exports(app)
    study_page = client.get(f"/research/studies/{seeded.study_doc['study_id']}")
    assert f"/research/studies/{seeded.study_doc['study_id']}/exports" in study_page.get_data(
        as_text=True)
    auditor = make_account(users.AUDITOR)
    auth.logout()
    auth.login(auditor["username"])
    assert "/research/audit/exports" in client.get("/research/studies").get_data(as_text=True)
    page = client.get("/research/audit/exports")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert doc["export_id"] in text and doc["csv_sha256"] in text
    auth.logout()
    auth.login(seeded.researcher["username"])
    assert client.get("/research/audit/exports").status_code == 403


def test_aggregates_page_withholds_small_cells(app, client, auth, seeded):
    auth.login(seeded.researcher["username"])
    page = client.get(f"/research/studies/{seeded.study_doc['study_id']}/aggregates")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'data-testid="aggregates-table"' in text
    counts = [int(v) for v in re.findall(r'data-testid="cell"[^>]*>(\d+)<', text)]
    assert counts and all(value == 0 or value >= 5 for value in counts)


def test_participants_see_the_counts_of_their_studies_only(app, client, auth, seeded,
                                                           make_account):
    study_id = seeded.study_doc["study_id"]
    participant = seeded.patients[-1]
    auth.login(participant["username"])
    sharing = client.get("/patient/grants").get_data(as_text=True)
    assert f"/research/studies/{study_id}/counts" in sharing
    page = client.get(f"/research/studies/{study_id}/counts")
    assert page.status_code == 200 and b'data-testid="aggregates-table"' in page.data
    seeded.leave(participant, seeded.study_doc)
    assert client.get(f"/research/studies/{study_id}/counts").status_code == 404
    auth.logout()
    auth.login(seeded.researcher["username"])
    assert client.get(f"/research/studies/{study_id}/counts").status_code == 403


def test_patients_see_the_exports_their_data_went_into_but_not_their_subject_id(
        app, client, auth, seeded, make_account):
    auth.login(seeded.researcher["username"])
    _create(client, seeded.study_doc["study_id"])
    [doc] = _exports(app)
    with app.app_context():
        included = get_db().research_subjects.find_one({"export_id": doc["export_id"]})
    patient = next(p for p in seeded.patients if p["human_id"] == included["patient_id"])
    auth.logout()
    auth.login(patient["username"])
    assert "/research/my-exports" in client.get("/patient/grants").get_data(as_text=True)
    page = client.get("/research/my-exports").get_data(as_text=True)
    assert doc["export_id"] in page and included["subject_id"] not in page
    outsider = make_account(users.PATIENT)
    auth.logout()
    auth.login(outsider["username"])
    page = client.get("/research/my-exports").get_data(as_text=True)
    assert doc["export_id"] not in page and 'data-testid="no-my-exports"' in page
