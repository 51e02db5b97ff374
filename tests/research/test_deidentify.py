"""Safe Harbor forms: every value maps into a closed vocabulary, never a copy of the source."""
from datetime import date

import pytest

from models.research import catalogue
from models.research import deidentify as di


@pytest.mark.parametrize("postcode, expected", [
    ("12345", "123"), ("12345-6789", "123"), ("123456789", "123"), (" 02139 ", "021"),
    ("03601", "000"), ("89301", "000"), ("69201", "000"),  # restricted (2000 census)
    ("SW1A 1AA", "000"), ("1234", "000"), ("", "000"), (None, "000"), ("12a45", "000"),
])
def test_zip3_keeps_three_digits_and_masks_small_areas(postcode, expected):
    assert di.zip3(postcode) == expected


def test_every_restricted_zip3_is_masked():
    assert len(di.RESTRICTED_ZIP3) == 17
    for prefix in di.RESTRICTED_ZIP3:
        assert di.zip3(prefix + "01") == "000"


@pytest.mark.parametrize("age, band", [
    (0, "0-4"), (4, "0-4"), (5, "5-9"), (44, "40-44"), (89, "85-89"), (90, "90+"),
    (104, "90+"), (None, "unknown"), (-1, "unknown")])
def test_age_bands_and_ages_over_89(age, band):
    assert di.age_band(age) == band


def test_age_is_counted_from_the_birth_date_and_never_returned():
    assert di.age_on("1980-06-15", date(2026, 6, 14)) == 45
    assert di.age_on("1980-06-15", date(2026, 6, 15)) == 46
    assert di.age_on("not a date", date(2026, 1, 1)) is None


@pytest.mark.parametrize("value, year", [
    ("2019-03-04", "2019"), (date(2001, 2, 3), "2001"), ("2019", "unknown"), (None, "unknown")])
def test_only_the_year_of_a_date(value, year):
    assert di.year_of(value) == year


@pytest.mark.parametrize("code, group, chapter", [
    ("E11.9", "E11", "IV E00-E90"), ("e11", "E11", "IV E00-E90"), ("C50.1", "C50", "II C00-D48"),
    ("D60", "D60", "III D50-D89"), ("T14", "T14", "XIX S00-T98"), ("Z00.0", "Z00", "XXI Z00-Z99"),
    (None, "none", "none"), ("diabetes", "none", "none")])
def test_diagnosis_group_and_chapter(code, group, chapter):
    assert di.diagnosis_group(code) == group
    assert di.diagnosis_chapter(code) == chapter


@pytest.mark.parametrize("bmi, band", [
    ("18.4", "underweight <18.5"), ("18.5", "normal 18.5-24.9"), ("29.9", "overweight 25-29.9"),
    ("30.0", "obesity 30+"), (None, "unknown"), ("x", "unknown")])
def test_bmi_bands(bmi, band):
    assert di.bmi_band(bmi) == band


@pytest.mark.parametrize("value, band", [(119, "<120"), (120, "120-129"), (159, "140-159"),
                                         (160, "160+"), (None, "unknown")])
def test_systolic_bands(value, band):
    assert di.systolic_band(value) == band


def test_subject_ids_are_random_and_carry_nothing():
    ids = {di.new_subject_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(each) == 17 and each.startswith("S") for each in ids)


def test_every_catalogue_field_has_a_form_and_never_copies_typed_text():
    today = date(2026, 6, 1)
    typed = "Quorvax 20 mg for Quillon"
    for spec in catalogue.FIELDS:
        assert di.cell(spec, {}, today) in ("unknown", "none", "000")
        exported = di.cell(spec, {spec.source_field: typed}, today)
        assert "Quorvax" not in exported and "Quillon" not in exported, spec.key


def test_choice_fields_pass_only_their_listed_choices():
    route = catalogue.BY_KEY["medication_route"]
    assert di.cell(route, {"route": "oral"}, date(2026, 1, 1)) == "oral"
    assert di.cell(route, {"route": "by pigeon"}, date(2026, 1, 1)) == "unknown"
    blood = catalogue.BY_KEY["blood_group"]
    assert di.cell(blood, {"blood_group_abo": "AB", "blood_group_rh": "-"},
                   date(2026, 1, 1)) == "AB-"
