"""A decimal comma, as typed on most European keyboards, means the decimal point: `72,5` kg is
72.5 kg, stored and sealed as the same canonical value; anything else with commas is refused."""
import pytest

from models.core import record_types
from models.core.errors import InvalidInput

GENERAL = record_types.TYPES["general"]


def weight(text):
    return GENERAL.clean({"weight_kg": text, "height_cm": "180"}, has_files=False)["weight_kg"]


def test_a_decimal_comma_is_the_decimal_point():
    assert weight("72,5") == weight("72.5")
    assert str(weight("72,5")) == "72.5"
    assert str(GENERAL.clean({"temperature_c": "36,8"}, False)["temperature_c"]) == "36.8"


@pytest.mark.parametrize("text", ["1,000", "7,2,5", "72,5.0", ",5", "72,"])
def test_other_commas_are_still_not_numbers(text):
    with pytest.raises(InvalidInput) as refused:
        weight(text)
    assert "weight_kg" in refused.value.field_errors


def test_a_vitals_form_with_a_decimal_comma_is_saved_as_the_decimal(world, client, auth):
    world.grant(world.doctor["human_id"])
    auth.login(world.doctor["username"])
    pid = world.patient["human_id"]
    response = client.post(f"/doctor/patients/{pid}/records/new/general", data={
        "weight_kg": "72,5", "height_cm": "180", "temperature_c": "36,8",
        "sensitivity": "normal"})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "72.5 kg" in page and "36.8" in page
