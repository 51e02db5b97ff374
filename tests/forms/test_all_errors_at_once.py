"""A refused form shows every problem in one round trip, each on its own field: the control is
aria-invalid and names its error text in aria-describedby, and an error summary at the top
links to each bad field. A name already in use is one of those field errors, not a page alert.
"""
import re

import pytest

from models.people import users
from tests.support_people import snapshot


def field_error(html, field_id):
    """The error text tied to a control, checking the tie itself: aria-invalid on the control,
    and its aria-describedby naming the element that holds the text."""
    control = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{field_id}"[^>]*>', html)
    assert control, f"no control {field_id}"
    tag = control.group(0)
    assert 'aria-invalid="true"' in tag, tag
    described = re.search(r'aria-describedby="([^"]+)"', tag)
    assert described and f"{field_id}-error" in described.group(1).split(), tag
    text = re.search(rf'id="{field_id}-error"[^>]*>([^<]+)<', html)
    assert text, f"no error text for {field_id}"
    return text.group(1)


def summary_links(html):
    """The fields the error summary links to, in order."""
    summary = re.search(r'<div[^>]*id="error-summary".*?</div>', html, re.S)
    assert summary, "no error summary"
    return re.findall(r'href="#([^"]+)"', summary.group(0))


def invalid_controls(html):
    return re.findall(r'<(?:input|select|textarea)\b[^>]*aria-invalid[^>]*>', html)


def test_a_new_organization_reports_a_blank_name_and_a_taken_username_together(app, client, auth,
                                                                               admin):
    auth.login(admin["username"])
    before = snapshot(app)
    response = client.post("/admin/organizations/new", data={
        "name": "", "kind": "", "manager_name": "M", "manager_username": admin["username"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_error(html, "name")
    assert field_error(html, "kind")
    assert field_error(html, "manager_name") == "Enter the full name."
    assert field_error(html, "manager_username") == "That username is taken."
    assert summary_links(html) == ["name", "kind", "manager_name", "manager_username"]
    assert snapshot(app) == before


def test_a_taken_username_alone_is_a_409_shown_on_its_field(app, client, auth, admin):
    auth.login(admin["username"])
    response = client.post("/admin/organizations/new", data={
        "name": "Hilltop Clinic", "kind": "clinic", "manager_name": "Mo Manager",
        "manager_username": admin["username"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert field_error(html, "manager_username") == "That username is taken."
    assert summary_links(html) == ["manager_username"]
    assert 'data-testid="form-error"' not in html  # on the field, not as a page alert


def test_the_front_desk_reports_every_detail_and_the_taken_username_at_once(app, client, auth,
                                                                             manager):
    auth.login(manager["username"])
    before = snapshot(app)
    response = client.post("/organization/patients/new", data={
        "name": "", "date_of_birth": "1987-02-30", "sex": "", "email": "", "phone": "",
        "username": manager["username"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    for field in ("name", "date_of_birth", "sex", "email", "phone"):
        assert field_error(html, field)
    assert field_error(html, "username") == "That username is taken."
    assert summary_links(html) == ["name", "date_of_birth", "sex", "email", "phone", "username"]
    assert snapshot(app) == before


def test_self_registration_reports_the_password_and_its_repetition_with_the_details(client):
    response = client.post("/patient/register", data={
        "name": "Jo", "date_of_birth": "", "sex": "female", "email": "jo@example.org",
        "phone": "", "username": "jo.x", "password": "short", "confirm": "other"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_error(html, "date_of_birth")
    assert field_error(html, "password")
    assert field_error(html, "confirm") == users.PASSWORDS_DIFFER


def test_setting_a_password_reports_both_problems_at_once(app, client, auth, make_account):
    account = make_account(users.AUDITOR, username="fresh.one")
    auth.login(account["username"])
    response = client.post("/password", data={"password": "short", "confirm": "different"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "12" in field_error(html, "password")
    assert field_error(html, "confirm") == users.PASSWORDS_DIFFER
    assert summary_links(html) == ["password", "confirm"]
    good = "a long enough passphrase"
    assert client.post("/password", data={"password": good, "confirm": good}).status_code == 302


def test_vitals_report_a_bad_number_and_the_blood_pressure_rule_together(world, client, auth):
    world.grant(world.doctor["human_id"])
    auth.login(world.doctor["username"])
    pid = world.patient["human_id"]
    response = client.post(f"/doctor/patients/{pid}/records/new/general", data={
        "weight_kg": "heavy", "height_cm": "180", "systolic_mmhg": "80", "diastolic_mmhg": "90",
        "sensitivity": "normal"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "number" in field_error(html, "weight_kg")
    assert field_error(html, "diastolic_mmhg") or field_error(html, "systolic_mmhg")
    assert world.count("records") == 0


def test_a_valid_form_has_no_summary_and_no_invalid_controls(client):
    html = client.get("/patient/register").get_data(as_text=True)
    assert 'id="error-summary"' not in html and not invalid_controls(html)
    # hints stay tied to their controls when there is no error
    assert re.search(r'id="username"[^>]*aria-describedby="username-hint"', html) or \
        re.search(r'aria-describedby="username-hint"[^>]*id="username"', html)


@pytest.mark.parametrize("path, expected", [
    ("/login", {"username": "username", "password": "current-password"}),
    ("/patient/register", {"name": "name", "date_of_birth": "bday", "sex": "sex",
                           "email": "email", "phone": "tel", "username": "username",
                           "password": "new-password", "confirm": "new-password"}),
])
def test_personal_and_password_fields_say_what_to_autofill(client, path, expected):
    html = client.get(path).get_data(as_text=True)
    for field_id, token in expected.items():
        tag = re.search(rf'<(?:input|select)\b[^>]*\bid="{field_id}"[^>]*>', html).group(0)
        assert f'autocomplete="{token}"' in tag, tag


def test_the_set_password_and_front_desk_forms_autofill_only_what_is_yours(client, auth,
                                                                           make_account, manager):
    auditor = make_account(users.AUDITOR, username="fresh.two")
    auth.login(auditor["username"])
    html = client.get("/password").get_data(as_text=True)
    assert html.count('autocomplete="new-password"') == 2
    auth.logout()
    auth.login(manager["username"])
    html = client.get("/organization/patients/new").get_data(as_text=True)
    tag = re.search(r'<input\b[^>]*\bid="name"[^>]*>', html).group(0)
    assert 'autocomplete="off"' in tag  # the desk types someone else's details
