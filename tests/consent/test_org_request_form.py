"""The organization's request form: the patient's id comes first, and a blank one is refused
on the form (nothing is sent, nothing is sealed)."""
import re

from blueprints.organization.request_forms import PATIENT_ID_MISSING


def _login(auth, account):
    assert auth.login(account["username"]).status_code == 302


def _form_html(page):
    return page.split('data-testid="org-request-form"', 1)[1]


def test_the_patient_id_comes_before_everything_else_and_the_button_last(world, client, auth):
    _login(auth, world.manager)
    form = _form_html(client.get("/organization/requests").get_data(as_text=True))
    names = [name for name in re.findall(r'<(?:input|select|textarea)[^>]*\bname="([a-z_]+)"', form)
             if name != "csrf_token"]
    assert names[0] == "patient_id", names
    assert form.index('name="patient_id"') < form.index('name="scope"')
    assert names[-1] == "submit" and form.index('value="Send request"') > form.index('name="message"')


def test_a_blank_patient_id_is_a_required_field_error(world, client, auth):
    _login(auth, world.manager)
    blocks = world.count("ledger_blocks")
    for blank in ("", "   "):
        response = client.post("/organization/requests/new", data={
            "patient_id": blank, "scope": "types", "types": ["prescription"],
            "purpose": "treatment", "duration_days": "30"})
        assert response.status_code == 400
        form = _form_html(response.get_data(as_text=True))
        assert PATIENT_ID_MISSING.replace("'", "&#39;") in form
        assert re.search(r'name="patient_id"[^>]*is-invalid|is-invalid[^>]*name="patient_id"', form)
    assert world.count("access_requests") == 0
    assert world.count("ledger_blocks") == blocks
