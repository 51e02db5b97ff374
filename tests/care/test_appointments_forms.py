"""Bad input on every appointment form (hypothesis): 400 with messages, never a 500, nothing
created or changed; and any text at all is never a 500."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.auditor_support import login
from tests.care.support import ask, book, future_slot, publish
from tests.conftest import FORM_SETTINGS

anything = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
blank_or_short = st.text(" \t\nab", max_size=4).filter(lambda text: len(" ".join(text.split())) < 3)
too_long = st.text("abcdefghij ", min_size=520, max_size=600).filter(
    lambda text: len(" ".join(text.split())) > 500)
bad_text = st.one_of(blank_or_short, too_long)
not_a_slot = st.one_of(anything, st.just("2099-01-05T09:07Z"), st.just("1999-01-04T09:00Z"),
                       st.just("2099-01-05T03:00Z"))
GOOD_SLOT = future_slot(3, hour=9).strftime("%Y-%m-%dT%H:%MZ")


def _counts(world):
    return {name: world.count(name) for name in ("appointments", "slot_holds", "ledger_blocks",
                                                 "schedules", "booking_settings")}


def _refused(response, world, before, *messages):
    assert response.status_code == 400, response.status_code
    assert any(message in response.text for message in messages), response.text[:2000]
    assert _counts(world) == before


@pytest.fixture(autouse=True)
def generous_rate_limit(app):
    app.config["LOGIN_RATE_LIMIT"] = "100000 per minute"  # a login per example


@pytest.fixture
def patient_client(world, client):
    publish(world)
    login(client, world.patient)
    return client


@FORM_SETTINGS
@given(start=not_a_slot, reason=anything)
def test_booking_a_time_that_is_not_offered(world, patient_client, start, reason):
    before = _counts(world)
    response = patient_client.post(f"/appointments/book/{world.doctor['human_id']}",
                                   data={"start": start, "reason": reason})
    _refused(response, world, before, "Choose one of the free times shown")


@FORM_SETTINGS
@given(reason=bad_text)
def test_booking_without_a_proper_reason(world, patient_client, reason):
    before = _counts(world)
    response = patient_client.post(f"/appointments/book/{world.doctor['human_id']}",
                                   data={"start": GOOD_SLOT, "reason": reason})
    _refused(response, world, before, "characters")


@FORM_SETTINGS
@given(reason=bad_text, preferred=st.one_of(st.just(""), st.text("xyz ", min_size=205,
                                                                 max_size=260)))
def test_requesting_without_a_proper_reason(world, client, manager_a, reason, preferred):
    publish(world)
    if world.count("booking_settings") == 0:
        ask(world, manager_a, patient=world.other_patient)
        login(client, world.patient)
    before = _counts(world)
    response = client.post(f"/appointments/book/{world.doctor['human_id']}",
                           data={"reason": reason, "preferred_days": preferred})
    _refused(response, world, before, "characters")


@FORM_SETTINGS
@given(action=st.sampled_from(["cancelled", "entered_in_error"]), note=bad_text)
def test_cancelling_or_marking_in_error_needs_a_reason(world, client, action, note):
    if world.count("appointments") == 0:
        publish(world)
        book(world)
        login(client, world.doctor)
    appt = world.find_one("appointments", {})
    before = _counts(world)
    response = client.post(f"/appointments/{appt['appointment_id']}/act/{action}",
                           data={f"{action}-note": note})
    _refused(response, world, before, "characters", "could not be read")
    assert world.find_one("appointments", {})["history"] == appt["history"]


@FORM_SETTINGS
@given(start=not_a_slot)
def test_proposing_a_time_that_is_not_offered(world, client, desk, manager_a, start):
    if world.count("appointments") == 0:
        publish(world)
        ask(world, manager_a)
        login(client, desk[0])
    appt = world.find_one("appointments", {})
    before = _counts(world)
    response = client.post(f"/appointments/{appt['appointment_id']}/propose",
                           data={"start": start})
    _refused(response, world, before, "Choose one of the free times shown")


@FORM_SETTINGS
@given(slot=st.one_of(anything, st.sampled_from(["5", "7", "121", "0", "-30"])),
       hours=st.one_of(anything.map(lambda text: "x" + text), st.just("Mon 10:00-09:00")),
       leave=st.one_of(st.just(""), st.just("2030-02-30"), anything.map(lambda t: "q" + t)))
def test_publishing_a_bad_schedule(world, client, slot, hours, leave):
    login(client, world.doctor)
    before = _counts(world)
    response = client.post(f"/appointments/schedule/{world.doctor['human_id']}",
                           data={"slot_minutes": slot, "hours": hours, "leave": leave})
    _refused(response, world, before, 'data-testid="field-error-')


@FORM_SETTINGS
@given(mode=anything.filter(lambda text: text not in ("direct", "request")))
def test_choosing_an_unknown_booking_mode(world, client, manager_a, mode):
    login(client, manager_a)
    before = _counts(world)
    response = client.post("/appointments/settings", data={"mode": mode})
    _refused(response, world, before, "Choose direct booking or requests")


@FORM_SETTINGS
@given(text=st.text("abc ", min_size=121, max_size=200))
def test_searching_with_a_too_long_name(world, patient_client, text):
    response = patient_client.get("/appointments/find", query_string={"q": text})
    assert response.status_code == 400 and 'id="q-error"' in response.text


@FORM_SETTINGS
@given(data=st.fixed_dictionaries({name: anything for name in (
    "start", "reason", "preferred_days", "note", "slot_minutes", "hours", "leave", "mode")}))
def test_any_text_on_any_form_is_never_a_500(world, client, desk, data):
    if world.count("appointments") == 0:
        publish(world)
        book(world)
    appt = world.find_one("appointments", {})
    for account, method, url in [
            (world.patient, "POST", f"/appointments/book/{world.doctor['human_id']}"),
            (world.doctor, "POST", f"/appointments/{appt['appointment_id']}/act/declined"),
            (world.doctor, "POST", f"/appointments/schedule/{world.doctor['human_id']}"),
            (desk[0], "POST", f"/appointments/{appt['appointment_id']}/propose"),
            (world.doctor, "GET", "/appointments/week")]:
        login(client, account)
        response = client.open(url, method=method, data=data, query_string={"date": data["start"]})
        assert response.status_code < 500, (url, response.status_code)
        client.post("/logout")
