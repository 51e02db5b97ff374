"""The export of an approved study, through the models: who is in, what leaves, what is sealed."""
import csv
import io
import zipfile

import pytest

from tests.research import cohort


def _rows(package):
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv") and "dictionary" not in n)
        return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


def test_smoke(world, make_account):
    cohort.add_patients(world, make_account, 30)
    study = world.approved_study()
    for patient in world.patients:
        world.opt_in_all(patient)
    doc = cohort.export(world, study)
    rows = _rows(bytes(doc["package"]))
    print(doc["k_reached"], doc["l_diversity"], doc["patients"], doc["suppressed"], doc["levels"])
    print(rows[:3])
    assert rows
