"""Small cells are withheld, and no withheld cell can be recovered from the published margins."""
import itertools
import random

import pytest

from models.research import aggregates
from models.research.aggregates import TOTAL


def _recoverable(table):
    """Cells an attacker recovers by subtraction along any row or column, repeated until
    nothing more follows (the margins are known where published)."""
    known = {cell: value for cell, value in table.cells.items() if value is not None}
    rows = table.groups + [TOTAL]
    cols = table.years + [TOTAL]
    recovered = set()
    changed = True
    while changed:
        changed = False
        lines = [([(g, y) for y in table.years], (g, TOTAL)) for g in rows]
        lines += [([(g, y) for g in table.groups], (TOTAL, y)) for y in cols]
        for parts, total in lines:
            cells = parts + [total]
            missing = [cell for cell in cells if cell not in known]
            if len(missing) != 1:
                continue
            cell = missing[0]
            if cell == total:
                known[cell] = sum(known[part] for part in parts)
            else:
                known[cell] = known[total] - sum(known[p] for p in parts if p != cell)
            recovered.add(cell)
            changed = True
    return recovered


def test_counts_are_distinct_patients_per_group_and_year():
    facts = [("p1", "E11", "2019"), ("p1", "E11", "2019"), ("p2", "E11", "2019"),
             ("p1", "I10", "2020")]
    assert aggregates.counts(facts) == {("E11", "2019"): 2, ("I10", "2020"): 1}


def test_a_single_small_cell_takes_a_complement_in_its_row_and_column():
    raw = {("E11", "2019"): 3, ("E11", "2020"): 20, ("I10", "2019"): 30, ("I10", "2020"): 40}
    table = aggregates.suppress(raw, 5)
    assert table.count("E11", "2019") is None
    withheld = [cell for cell, value in table.cells.items() if value is None]
    assert len(withheld) >= 2
    assert not _recoverable(table) & set(withheld)
    assert table.count(TOTAL, TOTAL) == 93


@pytest.mark.parametrize("seed", range(25))
def test_no_small_count_is_published_or_recoverable(seed):
    rng = random.Random(seed)
    groups = ["C50", "E11", "I10", "J45"][: rng.randint(1, 4)]
    years = ["2019", "2020", "2021"][: rng.randint(1, 3)]
    raw = {cell: rng.choice([0, 1, 2, 4, 5, 9, 30]) for cell in itertools.product(groups, years)}
    table = aggregates.suppress(raw, 5)
    published = {cell: value for cell, value in table.cells.items() if value is not None}
    assert all(value == 0 or value >= 5 for value in published.values())
    small = {cell for cell, value in raw.items() if 0 < value < 5}
    assert not small & _recoverable(table)
