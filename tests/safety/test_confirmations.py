"""Every destructive action asks first: its form carries `data-confirm` (static/js/confirm.js
turns it into the browser's confirm dialog) and rejecting, revoking and disabling look like
danger, unlike approving. Found by rendering each role's real pages, not by reading templates."""
from urllib.parse import urlsplit

import pytest

from models.consent import emergency
from models.people import api_tokens
from models.storage.db import get_db
from tests.auditor_support import after_window
from tests.conftest import PASSWORD
from tests.research import drill as research
from tests.research import export_drill
from tests.safety.forms import forms_of
from tests.support_people import submit_pending

DESTRUCTIVE = {
    "patient.revoke", "patient.reject", "staff.dispense", "admin.organization_disable",
    "admin.account_disable", "organization.staff_disable", "doctor.record_entered_in_error",
    "doctor.prescription_cancel", "doctor.cancel_request", "organization.cancel_request",
    "admin.verification_reject", "auditor.emergency_review_submit",
    "admin.account_setup_code", "organization.staff_setup_code",  # the old password stops working
    "auth.revoke_token",  # programs using it stop at once
    "research.decide",  # a study is approved or rejected once
    "research.download_export",  # an export is given out once
}
DANGER = {"patient.revoke", "patient.reject", "admin.organization_disable", "admin.account_disable",
          "organization.staff_disable", "admin.verification_reject", "auth.revoke_token"}


def _endpoint(app, action):
    adapter = app.url_map.bind("localhost")
    return adapter.match(urlsplit(action).path, method="POST")[0]


@pytest.fixture
def pages(world, make_account, monkeypatch):
    """(account, url) for a page of every role that shows a destructive action."""
    rx = world.write(world.doctor, "prescription")
    world.grant(world.pharmacy["human_id"], scope_kind="types", types=["prescription"])
    world.grant(world.outsider["human_id"])
    asked = world.ask(world.colleague)
    world.ask(world.manager_b)
    pending = make_account("doctor", "pendingdoc", name="Pia Pending",
                           org_id=world.hospital_a["human_id"], verified=False)
    submit_pending(world.app, pending)
    with world.app.app_context():
        api_tokens.create(get_db(), world.patient, "confirmation check")
        case = emergency.open_emergency(get_db(), doctor=world.outsider,
                                        patient_id=world.patient["human_id"], password=PASSWORD,
                                        reason="Unconscious on arrival, needs history", minutes=60)
    after_window(monkeypatch, case)
    with world.app.app_context():
        study = research.study(world, get_db())
        export = export_drill.create(world, get_db())()
        researcher = research.researcher(world, get_db())
    return [
        (world.patient, "/patient/"), (world.patient, "/patient/grants"),
        (world.patient, f"/patient/requests/{asked['request_id']}"), (world.patient, "/tokens"),
        (world.doctor, f"/doctor/records/{rx['record_id']}/v1"),
        (world.colleague, "/doctor/requests"),
        (world.manager_b, "/organization/requests"), (world.manager, "/organization/"),
        (world.pharmacist, "/staff/"),
        (world.pharmacist, f"/staff/records/{rx['record_id']}/v1"),
        (world.admin, "/admin/organizations"),
        (world.admin, f"/admin/accounts?q={world.doctor['human_id']}"),
        (world.admin, f"/admin/verifications/{pending['human_id']}"),
        (world.auditor, f"/auditor/emergencies/{case['emergency_id']}"),
        (world.admin, f"/research/studies/{study['study_id']}"),
        (researcher, f"/research/studies/{export['study_id']}/exports"),
    ]


def test_every_destructive_form_asks_first_and_danger_looks_like_danger(app, client, auth, pages):
    seen = set()
    for account, url in pages:
        auth.login(account["username"])
        page = client.get(url)
        assert page.status_code == 200, (url, page.status_code)
        for form in forms_of(page.text):
            if (form["attrs"].get("method") or "get").lower() != "post":
                continue
            endpoint = _endpoint(app, form["attrs"].get("action") or url)
            if endpoint not in DESTRUCTIVE:
                continue
            seen.add(endpoint)
            assert (form["attrs"].get("data-confirm") or "").strip(), (url, endpoint)
            if endpoint in DANGER:
                assert form["buttons"] and all("btn-danger" in classes
                                               for classes in form["buttons"]), (url, endpoint)
        auth.logout()
    assert seen == DESTRUCTIVE, DESTRUCTIVE - seen


def test_approve_and_reject_look_different(world, client, auth):
    world.ask(world.doctor)
    auth.login(world.patient["username"])
    forms = {form["attrs"]["action"].rsplit("/", 1)[1]: form
             for form in forms_of(client.get("/patient/").text)
             if form["attrs"].get("action", "").startswith("/patient/requests/")}
    assert forms["approve"]["buttons"] == [["btn", "btn-success", "btn-sm"]]
    assert "data-confirm" not in forms["approve"]["attrs"]
    assert forms["reject"]["buttons"] == [["btn", "btn-danger", "btn-sm"]]


def test_the_confirm_script_is_local_and_on_every_page(client):
    page = client.get("/login")
    head = page.text.split("</head>", 1)[0]
    # In the head, not at the end of the body: a fast click on a form rendered before the
    # script ran would submit without asking (it happened once in CI's browser journey).
    assert '<script src="/static/js/confirm.js"></script>' in head
    with client.get("/static/js/confirm.js") as script:
        assert script.status_code == 200 and "data-confirm" in script.text
        assert "window.confirm" in script.text
