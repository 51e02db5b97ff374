"""The k-anonymity gate, measured independently with pandas' groupby (not pycanon, not the gate)."""
import random

import pandas as pd
import pytest

from models.research import kanon

QUASI = {name: name for name in kanon.QUASI_FORMS}


def _row(age_band, sex, zip3, year, group, sensitive="a"):
    return {"age_band": age_band, "sex": sex, "zip3": zip3, "year": year,
            "diagnosis_group": group, "drug": sensitive}


def _smallest_class(frame, quasi):
    return int(frame.groupby(list(quasi), dropna=False).size().min())


def _random_rows(seed, count):
    rng = random.Random(seed)
    return [_row(rng.choice(["40-44", "45-49", "50-54", "90+"]), rng.choice(["female", "male"]),
                 rng.choice(["123", "124", "130", "000"]), str(rng.randint(2015, 2024)),
                 rng.choice(["E11", "E78", "I10", "J45"]), rng.choice("abc"))
            for _ in range(count)]


@pytest.mark.parametrize("seed", range(4))
def test_every_class_reaches_k_measured_by_groupby(seed):
    rows = _random_rows(seed, 300)
    result = kanon.gate(rows, quasi=QUASI, k=5, max_suppressed_share=0.2, sensitive=["drug"])
    assert _smallest_class(result.frame, QUASI) >= 5
    assert result.k == _smallest_class(result.frame, QUASI)
    assert result.suppressed == 300 - len(result.frame) <= 60
    ell = result.frame.groupby(list(QUASI))["drug"].nunique().min()
    assert result.l_diversity == ell


def test_kept_rows_point_back_to_their_input_and_keep_the_sensitive_value():
    rows = _random_rows(7, 200)
    result = kanon.gate(rows, quasi=QUASI, k=5, max_suppressed_share=0.2, sensitive=["drug"])
    for kept in result.frame.to_dict("records"):
        assert rows[kept["_row"]]["drug"] == kept["drug"]


def test_generalises_before_suppressing_when_suppression_would_exceed_the_share():
    rows = [_row(f"{age}-{age + 4}", "female", "123", "2019", "E11") for age in range(0, 50, 5)
            for _ in range(2)]  # ten ages, two patients each: nobody meets k = 5 as given
    result = kanon.gate(rows, quasi=QUASI, k=5, max_suppressed_share=0.0)
    assert result.suppressed == 0
    assert result.levels["age_band"] >= 1
    assert _smallest_class(result.frame, QUASI) >= 5


def test_a_cohort_smaller_than_k_is_refused():
    with pytest.raises(kanon.Refused, match="fewer than k = 5"):
        kanon.gate(_random_rows(1, 4), quasi=QUASI, k=5, max_suppressed_share=0.5)


def test_a_too_unique_cohort_is_refused_with_a_clear_message():
    chapters = ["A01", "C50", "E11", "F32", "I10", "J45", "K50", "M54", "N18", "Z00"]
    rows = [_row("40-44", "female", "123", str(2000 + 10 * (n % 3)), chapters[n])
            for n in range(10)]
    with pytest.raises(kanon.Refused, match="too unique"):
        kanon.gate(rows, quasi=QUASI, k=5, max_suppressed_share=0.1)


def test_k_below_five_is_refused():
    with pytest.raises(kanon.Refused, match="at least 5"):
        kanon.gate(_random_rows(1, 50), quasi=QUASI, k=4, max_suppressed_share=0.1)


def test_hierarchies_are_functions_of_the_level_below():
    levels = kanon.hierarchy("year", ["2019", "2014", "2010", "unknown"])
    assert levels[1] == ["2010-2014", "2010-2014", "2015-2019", "unknown"]
    assert levels[2] == ["2010-2019", "2010-2019", "2010-2019", "unknown"]
    age = kanon.hierarchy("age_band", ["40-44", "45-49", "90+"])
    assert age[1] == ["40-49", "40-49", "90+"] and age[2] == ["40-59", "40-59", "90+"]
    assert age[3] == ["*", "*", "*"]
    assert kanon.hierarchy("diagnosis_group", ["E11", "none"])[1] == ["IV E00-E90", "none"]


def test_measure_agrees_with_groupby():
    frame = pd.DataFrame(_random_rows(3, 100))
    k, ell = kanon.measure(frame, list(QUASI), ["drug"])
    assert k == _smallest_class(frame, QUASI)
    assert ell == frame.groupby(list(QUASI))["drug"].nunique().min()
