"""Issue 14, first half, through HTTP: who reaches which research page, a study's life
(register, approve or reject, once, sealed), and the patient's research choice on the
sharing page."""
import pytest

from app import create_app
from blueprints.guards import roles_required  # noqa: F401  (the guard the table describes)
from models.people import organizations, users
from models.research import consent, studies
from models.storage.db import get_db
from tests.conftest import PASSWORD, csrf_token_from, make_config
from tests.research.world import STUDY

ALL_ROLES = users.ROLES
EXPECTED = {
    "research.dashboard": {users.RESEARCHER},
    "research.study_new": {users.RESEARCHER},
    "research.study": {users.RESEARCHER, users.ADMIN, users.AUDITOR},
    "research.review": {users.ADMIN},
    "research.decide": {users.ADMIN},
    "research.all_studies": {users.ADMIN, users.AUDITOR},
    "research.choice": {users.PATIENT},
    "research.join": {users.PATIENT},
    "research.leave": {users.PATIENT},
}
"""Every route of the research area (R1's) and the roles it admits; the export routes have
their own table in R2's tests."""


def form_of(study=None, **overrides):
    data = dict(STUDY, **overrides)
    data["record_types"] = data.pop("record_types_chosen")
    return data


def blocks(app, kind):
    return get_db(app).ledger_blocks.count_documents({"kind": kind})


def test_the_research_routes_admit_exactly_their_roles(app):
    mine = {rule.endpoint: app.view_functions[rule.endpoint].allowed_roles
            for rule in app.url_map.iter_rules() if rule.endpoint in EXPECTED}
    assert mine == {endpoint: frozenset(roles) for endpoint, roles in EXPECTED.items()}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_each_role_reaches_only_its_research_pages(app, client, auth, make_account, world, role):
    study = world.approved_study()
    account = make_account(role, org_id=world.org["human_id"]) if role == users.RESEARCHER \
        else make_account(role)
    auth.login(account["username"])
    pages = {"research.dashboard": "/research/", "research.study_new": "/research/studies/new",
             "research.review": "/research/review", "research.all_studies": "/research/studies",
             "research.study": f"/research/studies/{study['study_id']}"}
    for endpoint, url in pages.items():
        status = client.get(url).status_code
        if role not in EXPECTED[endpoint]:
            assert status == 403, (role, url)
        elif endpoint == "research.study" and role == users.RESEARCHER:
            assert status == 404, "another researcher's study is not found"
        else:
            assert status == 200, (role, url)
    posts = {"research.choice": "/research/choice",
             "research.join": f"/research/studies/{study['study_id']}/join",
             "research.leave": f"/research/studies/{study['study_id']}/leave",
             "research.decide": f"/research/review/{study['study_id']}"}
    for endpoint, url in posts.items():
        status = client.post(url, data={"choice": "all", "approve": "Approve",
                                        "reason": "Looks fine"}).status_code
        assert (status == 403) == (role not in EXPECTED[endpoint]), (role, url, status)


def test_a_researcher_registers_a_study_that_waits_for_approval(app, client, auth, world):
    auth.login(world.researcher["username"])
    page = client.get("/research/studies/new").get_data(as_text=True)
    assert 'value="zip3"' in page and 'value="diagnosis"' in page and 'value="note"' not in page
    before = blocks(app, studies.REGISTERED_KIND)
    response = client.post("/research/studies/new", data=form_of())
    assert response.status_code == 302
    study = get_db(app).studies.find_one({"researcher_id": world.researcher["human_id"]})
    assert response.headers["Location"].endswith(f"/research/studies/{study['study_id']}")
    assert study["status"] == studies.PENDING and study["k"] == 5
    assert study["fields"] == STUDY["fields"]
    assert study["cohort"] == {"record_types": ["diagnosis", "general"], "years": [2018, 2026],
                               "diagnosis_prefixes": ["E11", "I10"]}
    assert blocks(app, studies.REGISTERED_KIND) == before + 1
    assert study["sealed_height"] is not None
    listed = client.get("/research/").get_data(as_text=True)
    assert study["study_id"] in listed and 'data-state="pending"' in listed


@pytest.mark.parametrize("overrides, field", [
    ({"k": "4"}, "k"), ({"max_suppression": "60"}, "max_suppression"),
    ({"fields": ["age_band", "patient_name"]}, "fields"), ({"fields": []}, "fields"),
    ({"record_types": ["note"]}, "record_types"), ({"diagnosis_prefixes": "E11; DROP"},
                                                    "diagnosis_prefixes"),
    ({"year_from": "2030"}, "year_from"), ({"year_from": "2024", "year_to": "2020"}, "year_to"),
    ({"ethics_ref": ""}, "ethics_ref"), ({"purpose": "Too short"}, "purpose"),
])
def test_a_study_outside_the_rules_is_refused_and_writes_nothing(app, client, auth, world,
                                                                  overrides, field):
    auth.login(world.researcher["username"])
    response = client.post("/research/studies/new", data=dict(form_of(), **overrides))
    assert response.status_code == 400
    assert f'data-testid="field-error-{field}"' in response.get_data(as_text=True)
    assert get_db(app).studies.count_documents({}) == 0
    assert blocks(app, studies.REGISTERED_KIND) == 0


def test_a_researcher_without_a_research_organization_registers_nothing(app, client, auth,
                                                                       make_account):
    with app.app_context():
        clinic = organizations.create(get_db(), name="A clinic of the test",
                                      kind=organizations.CLINIC)
    for org_id in (None, clinic["human_id"]):  # no organization; one that employs none
        auth.login(make_account(users.RESEARCHER, org_id=org_id)["username"])
        response = client.post("/research/studies/new", data=form_of())
        assert response.status_code == 403
        assert "cannot register studies" in response.get_data(as_text=True)
        auth.logout()
    assert get_db(app).studies.count_documents({}) == 0


def test_a_researcher_sees_only_own_studies(app, client, auth, make_account, world):
    other = make_account(users.RESEARCHER, org_id=world.org["human_id"])
    theirs = world.study(researcher=other)
    mine = world.study()
    auth.login(world.researcher["username"])
    assert client.get(f"/research/studies/{theirs['study_id']}").status_code == 404
    assert client.get(f"/research/studies/{mine['study_id']}").status_code == 200
    assert theirs["study_id"] not in client.get("/research/").get_data(as_text=True)


def test_an_admin_approves_once_with_a_reason_sealed(app, client, auth, world):
    study = world.study()
    auth.login(world.admin["username"])
    queue = client.get("/research/review").get_data(as_text=True)
    assert study["study_id"] in queue
    url = f"/research/review/{study['study_id']}"
    assert client.post(url, data={"approve": "Approve", "reason": ""}).status_code == 400
    assert client.post(url, data={"reason": "Neither button"}).status_code == 400
    assert get_db(app).studies.find_one({"_id": study["_id"]})["status"] == studies.PENDING
    assert client.post(url, data={"approve": "Approve",
                                  "reason": "Ethics approval checked"}).status_code == 302
    stored = get_db(app).studies.find_one({"_id": study["_id"]})
    assert stored["status"] == studies.APPROVED
    assert stored["decision"]["by"] == world.admin["human_id"]
    assert studies.approval_height(stored) is not None
    assert blocks(app, studies.APPROVED_KIND) == 1
    again = client.post(url, data={"reject": "Reject", "reason": "Changed my mind"})
    assert again.status_code == 409
    assert blocks(app, studies.REJECTED_KIND) == 0


def test_the_researcher_is_told_of_the_decision(app, client, auth, world):
    approved, rejected = world.approved_study(), world.study(title="A study to reject")
    world.call(studies.reject, actor=world.admin, study_id=rejected["study_id"],
               reason="No ethics approval")
    auth.login(world.researcher["username"])
    inbox = client.get("/notifications/").get_data(as_text=True)
    assert f"approved your study {approved['study_id']}" in inbox
    assert f"rejected your study {rejected['study_id']}" in inbox
    note = get_db(app).notifications.find_one({"about.study": approved["study_id"]})
    opened = client.post(f"/notifications/{note['_id']}/open")
    assert opened.headers["Location"].endswith(f"/research/studies/{approved['study_id']}")


def test_a_rejected_study_cannot_be_joined(app, client, auth, world):
    study = world.study()
    auth.login(world.admin["username"])
    assert client.post(f"/research/review/{study['study_id']}", data={
        "reject": "Reject", "reason": "No ethics approval"}).status_code == 302
    assert blocks(app, studies.REJECTED_KIND) == 1
    auth.logout()
    auth.login(world.patients[0]["username"])
    assert client.post(f"/research/studies/{study['study_id']}/join").status_code == 404
    assert get_db(app).research_consents.count_documents({}) == 0


def test_auditors_list_every_study_by_status(app, client, auth, make_account, world):
    approved, pending = world.approved_study(), world.study(title="Another study here")
    auth.login(make_account(users.AUDITOR)["username"])
    everything = client.get("/research/studies").get_data(as_text=True)
    assert approved["study_id"] in everything and pending["study_id"] in everything
    only = client.get("/research/studies?status=pending").get_data(as_text=True)
    assert pending["study_id"] in only and approved["study_id"] not in only
    assert client.get("/research/studies?status=bogus").status_code == 404
    detail = client.get(f"/research/studies/{approved['study_id']}").get_data(as_text=True)
    assert "decision-form" not in detail and "IRB-2026-014" in detail


def test_the_patient_opts_in_and_out_on_the_sharing_page(app, client, auth, world):
    study, other = world.approved_study(), world.approved_study(title="Second approved study")
    patient = world.patients[0]
    auth.login(patient["username"])
    page = client.get("/patient/grants").get_data(as_text=True)
    assert 'data-choice="out"' in page and study["study_id"] in page
    assert client.post("/research/studies/" + study["study_id"] + "/join").status_code == 302
    assert world.participants(study) == [patient["human_id"]]
    assert world.participants(other) == []
    assert client.post("/research/choice", data={"choice": "all"}).status_code == 302
    assert world.participants(other) == [patient["human_id"]]
    assert client.post(f"/research/studies/{other['study_id']}/leave").status_code == 302
    page = client.get("/patient/grants").get_data(as_text=True)
    assert 'data-choice="all"' in page
    assert f'data-study-id="{other["study_id"]}" data-in="no"' in page
    assert page.count('data-testid="research-version"') == 3
    assert f"except {other['study_id']}" in page
    assert client.post("/research/choice", data={"choice": "out"}).status_code == 302
    assert world.participants(study) == [] == world.participants(other)
    assert client.post("/research/choice", data={"choice": "out"}).status_code == 409
    assert client.post("/research/choice", data={"choice": "some"}).status_code == 400
    assert blocks(app, consent.CHANGED_KIND) == 4


def test_research_forms_need_a_csrf_token(tmp_path):
    app = create_app(make_config(tmp_path, WTF_CSRF_ENABLED=True))
    client = app.test_client()
    with app.app_context():
        users.create_user(get_db(), username="pat1", role=users.PATIENT, name="P",
                          password=PASSWORD, rounds=4)
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": "pat1", "password": PASSWORD, "csrf_token": token})
    assert client.post("/research/choice", data={"choice": "all"}).status_code == 400
    token = csrf_token_from(client.get("/patient/grants").get_data(as_text=True))
    assert client.post("/research/choice", data={"choice": "all",
                                                 "csrf_token": token}).status_code == 302
    assert get_db(app).research_consents.count_documents({}) == 1


@pytest.mark.parametrize("kind", [organizations.RESEARCH, organizations.HOSPITAL])
def test_managers_of_research_organizations_and_hospitals_add_researchers(
        app, client, auth, make_account, kind):
    with app.app_context():
        org = organizations.create(get_db(), name=f"The {kind} for research", kind=kind)
    auth.login(make_account(users.ORG_MANAGER, org_id=org["human_id"])["username"])
    response = client.post("/organization/staff/new", data={
        "role": users.RESEARCHER, "name": "Rita Research", "username": "rita.research"})
    assert response.status_code == 200
    account = get_db(app).users.find_one({"username": "rita.research"})
    assert account["role"] == users.RESEARCHER and account["org_id"] == org["human_id"]


def test_a_research_organization_reads_and_registers_no_patient(app, client, auth, make_account,
                                                               world):
    manager = make_account(users.ORG_MANAGER, org_id=world.org["human_id"])
    patient = world.patients[0]
    auth.login(manager["username"])
    assert client.get("/organization/patients/new").status_code == 403
    response = client.post("/organization/patients/new", data={
        "name": "Nina New", "date_of_birth": "1990-01-01", "sex": "female",
        "email": "nina@example.org", "username": "nina.new"})
    assert response.status_code == 403
    assert get_db(app).users.find_one({"username": "nina.new"}) is None
    auth.logout()
    auth.login(patient["username"])
    found = client.get("/patient/grants?q=Institute&kind=").get_data(as_text=True)
    assert world.org["human_id"] not in found.split('data-testid="research-choice"')[0]
    response = client.post("/patient/grants/new", data={
        "grantee": world.org["human_id"], "scope": "all", "purpose": "treatment",
        "duration_days": "30"})
    assert response.status_code == 400
    assert get_db(app).grants.count_documents({}) == 0


def test_a_patient_gives_an_optional_postcode(app, client):
    base = {"name": "Zed Zip", "date_of_birth": "1980-05-05", "sex": "male",
            "email": "zed@example.org", "username": "zed.zip", "password": PASSWORD,
            "confirm": PASSWORD}
    bad = client.post("/patient/register", data=dict(base, postcode="02139<script>"))
    assert bad.status_code == 400 and 'data-testid="field-error-postcode"' in bad.get_data(
        as_text=True)
    assert client.post("/patient/register", data=dict(base, postcode=" 02139 ")).status_code == 302
    stored = get_db(app).users.find_one({"username": "zed.zip"})
    assert stored["profile"]["postcode"] == "02139"
