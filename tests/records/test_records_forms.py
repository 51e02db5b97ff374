"""Every record form, posted through HTTP: valid input is saved and sealed; random and
hostile input gets 400 with a message next to a field, never a 500, and creates nothing."""
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.core import record_types
from tests.conftest import FORM_SETTINGS
from tests.records.world import PDF, PNG, VALID

CLINICIAN_TYPES = list(record_types.CLINICIAN_TYPES)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


def invalid_value(field):
    """Values this field must refuse."""
    bad = []
    if field.required:
        bad.append(st.just(""))
    if field.kind in (record_types.DECIMAL, record_types.INTEGER):
        high, low = float(field.high), float(field.low)
        bad += [st.integers(min_value=int(high) + 1, max_value=10**8).map(str),
                st.integers(max_value=int(low) - 1, min_value=-10**8).map(str),
                st.from_regex(r"\A[a-zA-Z,;]+[0-9]*\Z", fullmatch=True),
                st.sampled_from(["1e3", "NaN", "inf", "--1", "1..2", "0x10", " . "])]
        if field.kind == record_types.INTEGER:
            bad.append(st.sampled_from(["60.5", "70.0"]))
        else:
            bad.append(st.just(f"{field.low}{'0' * field.places}1" if "." in str(field.low)
                               else f"{field.low}.{'0' * field.places}1"))
    elif field.kind == record_types.CHOICE:
        valid = {value for value, _ in field.choices} | {""}
        bad.append(TEXT.filter(lambda text: text.strip() and text.strip() not in valid))
    elif field.kind == record_types.DATE:
        bad += [st.sampled_from(["2999-01-01", "1899-12-31", "2020-02-30", "31/12/2020",
                                 "yesterday", "20200101"])]
    else:
        bad.append(st.tuples(st.sampled_from("abé"), st.integers(1, 40)).map(
            lambda pair: pair[0] * (field.max_length + pair[1])))
        bad.append(st.just("bad \x01 control"))
        if not field.multiline:
            bad.append(st.just("two\nlines"))
    return st.one_of(bad)


@st.composite
def hostile_submission(draw, type_name):
    """Random values for every field, with at least one field certainly invalid."""
    spec = record_types.TYPES[type_name]
    values = {field.name: draw(st.one_of(TEXT, st.just(VALID[type_name].get(field.name, ""))))
              for field in spec.fields}
    target = draw(st.sampled_from(spec.fields))
    values[target.name] = draw(invalid_value(target))
    values["sensitivity"] = draw(st.sampled_from(["normal", "restricted"]))
    return values


def _counts(world):
    return world.count("records"), world.count("ledger_blocks"), world.count("attachments.files")


def _login(auth, account):
    assert auth.login(account["username"]).status_code == 302


def _doctor_url(world, type_name):
    return f"/doctor/patients/{world.patient['human_id']}/records/new/{type_name}"


@pytest.mark.parametrize("type_name", CLINICIAN_TYPES)
def test_each_form_renders_its_fields_with_units(world, client, auth, type_name):
    _login(auth, world.doctor)
    page = client.get(_doctor_url(world, type_name))
    assert page.status_code == 200
    for field in record_types.TYPES[type_name].fields:
        assert f'name="{field.name}"' in page.text
        if field.unit:
            assert field.unit in page.text


@pytest.mark.parametrize("type_name", CLINICIAN_TYPES)
def test_a_valid_form_is_saved_and_sealed(world, client, auth, type_name):
    _login(auth, world.doctor)
    response = client.post(_doctor_url(world, type_name), data=dict(VALID[type_name]))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/doctor/records/{world.patient['human_id']}-R1/v1")
    assert world.count("records") == 1
    assert world.find_one("records", {})["sealed_height"] is not None


@pytest.mark.parametrize("type_name", CLINICIAN_TYPES)
def test_hostile_input_to_each_doctor_form_is_refused(world, client, auth, type_name):
    _login(auth, world.doctor)
    before = _counts(world)

    @FORM_SETTINGS
    @given(values=hostile_submission(type_name))
    def check(values):
        response = client.post(_doctor_url(world, type_name), data=values)
        assert response.status_code == 400, values
        assert "invalid-feedback" in response.text or 'data-testid="form-error"' in response.text
        assert _counts(world) == before

    check()


@pytest.mark.parametrize("type_name", CLINICIAN_TYPES)
def test_any_input_is_either_saved_once_or_refused_never_a_500(world, client, auth, type_name):
    _login(auth, world.doctor)
    spec = record_types.TYPES[type_name]

    @FORM_SETTINGS
    @given(values=st.fixed_dictionaries({field.name: TEXT for field in spec.fields}))
    def check(values):
        before = world.count("records")
        response = client.post(_doctor_url(world, type_name), data=values)
        assert response.status_code in (302, 400), values
        assert world.count("records") == before + (1 if response.status_code == 302 else 0)

    check()


def test_hostile_input_to_the_patient_document_form_is_refused(world, client, auth):
    _login(auth, world.patient)
    before = _counts(world)

    @FORM_SETTINGS
    @given(values=hostile_submission("patient_provided"))
    def check(values):
        values.pop("sensitivity")
        response = client.post("/patient/documents/new", data=values)
        assert response.status_code == 400, values
        assert "invalid-feedback" in response.text
        assert _counts(world) == before

    check()


def test_hostile_input_to_the_lab_form_is_refused(world, client, auth):
    world.grant(world.lab["human_id"], scope_kind="types", types=["lab_report"])
    _login(auth, world.lab_tech)
    url = f"/staff/lab/patients/{world.patient['human_id']}/reports/new"
    before = _counts(world)

    @FORM_SETTINGS
    @given(values=hostile_submission("lab_report"))
    def check(values):
        response = client.post(url, data=values)
        assert response.status_code == 400, values
        assert _counts(world) == before

    check()


def test_a_general_record_with_diastolic_not_below_systolic_names_the_field(world, client, auth):
    _login(auth, world.doctor)
    response = client.post(_doctor_url(world, "general"),
                           data={"systolic_mmhg": "80", "diastolic_mmhg": "90"})
    assert response.status_code == 400
    assert "Diastolic pressure must be lower than systolic pressure." in response.text
    assert world.count("records") == 0


def test_files_ride_along_with_the_record_form(world, client, auth):
    _login(auth, world.doctor)
    data = dict(VALID["imaging"], files=[(io.BytesIO(PNG), "knee.png"), (io.BytesIO(PDF), "report.pdf")])
    response = client.post(_doctor_url(world, "imaging"), data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 302
    stored = world.find_one("records", {})
    assert [(f["name"], f["media_type"]) for f in stored["attachments"]] == [
        ("knee.png", "image/png"), ("report.pdf", "application/pdf")]
