"""Counts of patients by diagnosis group per year, with small cells suppressed.

A count under k names a handful of people, so it is withheld (primary suppression). The row
and column totals are published, so a row or column with a single withheld cell would give it
away by subtraction: the margins are treated as cells of the same additive table, and every
row and column (margins included) that has exactly one withheld cell withholds one more, its
smallest remaining count (complementary suppression), until none has exactly one. Pure:
the caller gives (patient, group, year) facts.
"""
from dataclasses import dataclass

TOTAL = "total"


@dataclass
class Table:
    groups: list
    years: list
    cells: dict  # (group, year) -> count, or None when withheld; TOTAL for the margins
    k: int

    def count(self, group, year):
        return self.cells[(group, year)]

    @property
    def withheld(self):
        return sum(1 for value in self.cells.values() if value is None)


def counts(facts):
    """{(group, year): distinct patients} from (patient, group, year) facts."""
    seen = {}
    for patient, group, year in facts:
        seen.setdefault((group, year), set()).add(patient)
    return {cell: len(patients) for cell, patients in seen.items()}


def suppress(raw, k):
    """The published table: withheld cells are None (counts under k, then their complements)."""
    groups = sorted({group for group, _ in raw})
    years = sorted({year for _, year in raw})
    full = {(group, year): raw.get((group, year), 0) for group in groups for year in years}
    for group in groups:
        full[(group, TOTAL)] = sum(full[(group, year)] for year in years)
    for year in years:
        full[(TOTAL, year)] = sum(full[(group, year)] for group in groups)
    full[(TOTAL, TOTAL)] = sum(full[(group, TOTAL)] for group in groups)
    withheld = {cell for cell, value in full.items() if 0 < value < k}
    lines = [[(group, year) for year in years + [TOTAL]] for group in groups + [TOTAL]]
    lines += [[(group, year) for group in groups + [TOTAL]] for year in years + [TOTAL]]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(cell in withheld for cell in line) != 1:
                continue
            others = [cell for cell in line if cell not in withheld]
            if not others:
                continue
            # the smallest non-zero count hides the most with the least loss; a zero otherwise
            withheld.add(min(others, key=lambda cell: (full[cell] == 0, full[cell])))
            changed = True
    cells = {cell: (None if cell in withheld else value) for cell, value in full.items()}
    return Table(groups, years, cells, k)
