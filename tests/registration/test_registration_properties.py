"""Property tests: whatever is posted to self-registration, the answer is never a 500, and a
refused form leaves no account behind."""
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.people import patients
from tests.conftest import FORM_SETTINGS
from tests.support_people import store

FIELDS = ("name", "date_of_birth", "sex", "email", "phone", "username", "password", "confirm")
GOOD = {"name": "Jamal Haddad", "date_of_birth": "1990-07-21", "sex": "male",
        "email": "jamal@example.org", "phone": "", "username": "jamal.h",
        "password": "my private passphrase", "confirm": "my private passphrase"}
TODAY = date.today()

# Any text a browser could send (lone surrogates cannot be encoded as form data).
anything = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)

INVALID = {
    "name": st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), max_size=1),
                      st.text("0123456789!@#$%^&*()[]{}<>=+/\\|;:", min_size=1, max_size=30),
                      st.text("abcdefghij", min_size=101, max_size=130)),
    "date_of_birth": st.one_of(
        st.dates(min_value=TODAY + timedelta(days=1)).map(date.isoformat),
        st.dates(max_value=TODAY - timedelta(days=131 * 366)).map(date.isoformat),
        anything.map(lambda text: "x" + text)),
    "sex": anything.filter(lambda text: text not in patients.SEXES),
    "email": anything.filter(lambda text: "@" not in text),
    "phone": anything.map(lambda text: text + "a"),
    "username": st.one_of(anything.map(lambda text: text + "!"), st.text("abc", max_size=2)),
    "password": st.text(st.characters(blacklist_categories=("Cs",)), max_size=11),
}


@pytest.fixture(autouse=True)
def generous_rate_limit(app):
    app.config["REGISTRATION_RATE_LIMIT"] = "100000 per minute"


@FORM_SETTINGS
@given(data=st.fixed_dictionaries({field: anything for field in FIELDS}))
def test_random_forms_never_fail_and_refusals_create_nothing(app, client, data):
    before = store(app).users.count_documents({})
    response = client.post("/patient/register", data=data)
    assert response.status_code in (302, 400, 409)
    after = store(app).users.count_documents({})
    if response.status_code == 302:  # a random form that happens to be valid
        assert after == before + 1
        client.post("/logout")
    else:
        assert after == before


@FORM_SETTINGS
@given(field=st.sampled_from(sorted(INVALID)), data=st.data())
def test_one_bad_field_is_a_400_and_creates_nothing(app, client, field, data):
    form = dict(GOOD)
    form[field] = data.draw(INVALID[field], label=field)
    if field == "password":
        form["confirm"] = form["password"]
    if field == "email":
        form["phone"] = ""
    if field == "phone":
        form["email"] = ""
    before = store(app).users.count_documents({})
    response = client.post("/patient/register", data=form)
    assert response.status_code == 400
    assert b"invalid-feedback" in response.data
    assert store(app).users.count_documents({}) == before
