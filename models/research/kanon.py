"""The k-anonymity gate: generalise the quasi-identifiers, then suppress, or refuse.

The rows (one per patient) are de-identified already. `anjana` (Apache-2.0, CSIC) applies the
generalisation hierarchies below and the suppression: at each step it suppresses the rows of
the classes under k if they are within the allowed share, and otherwise generalises the
quasi-identifier with the most distinct values one level further. `pycanon` (Apache-2.0, same
authors) then measures k and ℓ on the result; the gate never trusts its own loop for that.

Each hierarchy stops at a level that still tells a researcher something for the analytic
variables (the year at its decade, the diagnosis at its ICD-10 chapter), so a cohort that is
too unique is refused instead of being flattened into one class of "*". Age, sex and ZIP3 may
be generalised away entirely ("*"). A cohort with fewer than k patients is refused outright.
"""
import contextlib
import io
from dataclasses import dataclass

import pandas as pd
import pycanon.anonymity
from anjana.anonymity import k_anonymity

from models.core.errors import Conflict
from models.research import deidentify as di

QUASI_FORMS = ("age_band", "sex", "zip3", "year", "diagnosis_group")
"""The de-identified forms that are quasi-identifiers: each has a hierarchy in LEVELS."""
MIN_K = 5
ROW = "_row"
ANY = "*"


def _age_10(band):
    if band in (di.OVER_89, di.UNKNOWN, ANY):
        return band
    low = int(band.split("-")[0]) // 10 * 10
    return f"{low}-{low + 9}"


def _age_20(band):
    if band in (di.OVER_89, di.UNKNOWN, ANY):
        return band
    low = int(band.split("-")[0]) // 20 * 20
    return f"{low}-{min(low + 19, 89)}"


def _years(span):
    def generalise(year):
        if not year.isdigit():
            return year
        low = int(year[:4]) // span * span
        return f"{low}-{low + span - 1}"
    return generalise


def _zip2(code):
    return code if code == ANY else code[:2] + ANY


LEVELS = {
    "age_band": (_age_10, _age_20, lambda band: ANY),
    "sex": (lambda value: ANY,),
    "zip3": (_zip2, lambda code: ANY),
    "year": (_years(5), lambda year: _years(10)(year[:4]) if year[:4].isdigit() else year),
    "diagnosis_group": (di.chapter_of,),
}
"""Per quasi-identifier form, the functions from one level to the next (each a function of the
level before it, as a hierarchy must be)."""


class Refused(Conflict):
    """The export would identify someone: too few patients, or too many unique ones."""


@dataclass
class Result:
    frame: pd.DataFrame  # kept rows, quasi-identifiers generalised, `_row` = input position
    k: int
    l_diversity: int | None
    suppressed: int
    total: int
    levels: dict

    @property
    def rows(self):
        return self.frame[ROW].tolist()


def hierarchy(form, values):
    """anjana's form of a hierarchy: {level: [value at that level, aligned by position]}."""
    distinct = sorted(set(values))
    levels = {0: distinct}
    current = distinct
    for step in LEVELS[form]:
        current = [step(value) for value in current]
        levels[len(levels)] = current
    return levels


def measure(frame, quasi, sensitive=()):
    """(k, ℓ or None) of a frame, by pycanon."""
    k = int(pycanon.anonymity.k_anonymity(frame, list(quasi)))
    sensitive = [name for name in sensitive if name in frame.columns]
    ell = int(pycanon.anonymity.l_diversity(frame, list(quasi), sensitive)) if sensitive else None
    return k, ell


def gate(rows, *, quasi, k, max_suppressed_share, sensitive=()):
    """Result for `rows` (dicts of strings), or Refused with a message a researcher can act on.

    `quasi`: {column: form} of the quasi-identifier columns (forms of QUASI_FORMS);
    `sensitive`: the columns whose ℓ-diversity is reported.
    """
    if k < MIN_K:
        raise Refused(f"k must be at least {MIN_K}.")
    total = len(rows)
    if total < k:
        raise Refused(f"The cohort has {total} consenting patient(s): fewer than k = {k}, so "
                      "no export can hide them. Widen the cohort or wait for more consent.")
    frame = pd.DataFrame(rows)
    forms = dict(quasi)
    quasi = list(forms)
    frame[ROW] = range(total)
    hierarchies = {name: hierarchy(forms[name], frame[name]) for name in quasi}
    if quasi:
        # anjana prints its progress; the swap of sys.stdout is process-wide, harmless here
        # (the app logs to stderr and prints nothing)
        with contextlib.redirect_stdout(io.StringIO()):
            out = k_anonymity(frame, [], quasi, k, max_suppressed_share * 100, hierarchies)
    else:
        out = frame
    if out.empty:
        raise Refused(
            f"The cohort is too unique: even at the coarsest generalisation (age, sex and ZIP3 "
            f"removed, year by decade, diagnosis by ICD-10 chapter) more than "
            f"{max_suppressed_share:.0%} of its {total} patients would have to be suppressed "
            f"to give every group at least {k} patients.")
    out = out.drop(columns=[name for name in ("index",) if name in out.columns])
    out = out.reset_index(drop=True)
    reached, ell = measure(out, quasi, sensitive) if quasi else (len(out), None)
    if reached < k:  # never export on the word of the loop alone
        raise Refused(f"The gate reached k = {reached} only, below {k}.")
    levels = {name: _level_of(hierarchies[name], out[name]) for name in quasi}
    return Result(out, reached, ell, total - len(out), total, levels)


def _level_of(levels, column):
    present = set(column)
    return next((level for level, values in levels.items() if present <= set(values)), None)
