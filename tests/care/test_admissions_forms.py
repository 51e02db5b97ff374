"""Every admission form, posted with random and hostile values (at least one field certainly
wrong): 400 with the messages on the page, never a 500, and nothing written — no admission,
hold, record, block or notification, and the admission unchanged."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.care import admission_rules as rules
from models.storage.db import get_db
from tests.care.admission_world import SUMMARY, ward, world  # noqa: F401
from tests.conftest import FORM_SETTINGS

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


def too_long(limit):
    return st.integers(1, 30).map(lambda extra: "é" * (limit + extra))


RECORD_CONTROL = st.sampled_from(["bad \x01 control", "\x7f"])
CONTROL = st.one_of(RECORD_CONTROL, st.just("zero\u200bwidth"))
"""Ward, bed and reason refuse every control and format character; a record's text (the
summary) refuses control characters, as every record type does."""
BAD_TIMES = st.sampled_from(["2999-01-01 10:00", "2020-01-01 10:00", "yesterday", "25:99",
                             "2024-02-30 10:00", "now"])
INVALID = {
    "patient_id": st.one_of(st.just(""), st.just("PAT-999999"), TEXT.filter(
        lambda text: not text.strip().upper().startswith("PAT-"))),
    "ward": st.one_of(st.just(""), st.just("   "), too_long(rules.MAX_WARD), CONTROL),
    "bed": st.one_of(st.just(""), too_long(rules.MAX_BED), CONTROL),
    "reason": st.one_of(st.just(""), st.just("ab"), too_long(rules.MAX_REASON), CONTROL),
    "attending": st.one_of(st.just(""), TEXT, st.just("DOC-999999")),
    "at": BAD_TIMES,
    "destination": st.one_of(st.just(""), TEXT.filter(
        lambda text: text not in rules.DESTINATION_LABELS)),
    "diagnosis": st.one_of(st.just(""), too_long(500), RECORD_CONTROL, st.just("two\nlines")),
    "course": st.one_of(st.just(""), too_long(5000), RECORD_CONTROL),
    "medication": st.one_of(too_long(2000), RECORD_CONTROL),
    "follow_up": st.one_of(too_long(2000), RECORD_CONTROL),
}


@st.composite
def hostile(draw, valid):
    """Each field valid or random, and one field certainly invalid."""
    values = {name: draw(st.one_of(st.just(value), TEXT)) for name, value in valid.items()}
    target = draw(st.sampled_from(sorted(valid)))
    values[target] = draw(INVALID[target])
    return values


def admit_valid(ward):
    return {"patient_id": ward.w.patient["human_id"], "ward": "North", "bed": "1",
            "reason": "Chest pain", "attending": ward.w.doctor["human_id"], "at": ""}


FORMS = {  # name -> (who, state of the admission, url, valid values)
    "admit": ("desk", None, "/admissions/admit", admit_valid),
    "transfer": ("desk", "admitted", "/admissions/{id}/transfer",
                 lambda ward: {"ward": "South", "bed": "4", "at": ""}),
    "discharge": ("desk", "admitted", "/admissions/{id}/discharge",
                  lambda ward: {"destination": "home", "at": ""}),
    "error": ("desk", "admitted", "/admissions/{id}/error",
              lambda ward: {"reason": "Recorded for the wrong patient"}),
    "summary": ("doctor", "discharged", "/admissions/{id}/summary", lambda ward: dict(SUMMARY)),
}


def _set_up(ward, state):
    if state is None:
        return None
    doc = ward.admit(patient=ward.w.other_patient, ward="West", bed="9")
    return ward.discharge(doc) if state == "discharged" else doc


@pytest.mark.parametrize("form", sorted(FORMS))
def test_bad_input_is_refused_with_messages_and_writes_nothing(ward, client, auth, form):
    username, state, url, valid = FORMS[form]
    doc = _set_up(ward, state)
    url = url.format(id=doc["admission_id"] if doc else "")
    auth.login(username)
    db = get_db(ward.app)
    before = (ward.counts(), db.admissions.find_one({"_id": doc["_id"]}) if doc else None)

    @FORM_SETTINGS
    @given(values=hostile(valid(ward)))
    def refused(values):
        response = client.post(url, data=values)
        assert response.status_code == 400, (values, response.status_code)
        assert b'data-testid="error-summary"' in response.data, values
        assert (ward.counts(), db.admissions.find_one({"_id": doc["_id"]}) if doc else None) \
            == before, values

    refused()
    assert client.post(url, data=valid(ward)).status_code == 302  # the control: valid works
