"""A small research world built through the models (fast): a research organization with a
researcher, an administrator, patients, and studies in each state.

R2's export tests build on the same helpers, so both halves of issue 14 test one world.
"""
from dataclasses import dataclass, field

from models.people import organizations, users
from models.research import consent, studies
from models.storage.db import get_db

STUDY = dict(title="Diabetes and blood pressure", ethics_ref="IRB-2026-014",
             purpose="Whether blood pressure bands differ across diabetes diagnosis groups.",
             fields=["age_band", "sex", "zip3", "year_of_diagnosis", "diagnosis_group",
                     "systolic_band"],
             record_types_chosen=["diagnosis", "general"], year_from=2018, year_to=2026,
             diagnosis_prefixes="E11, I10", k=5, max_suppression=10)


@dataclass
class ResearchWorld:
    app: object
    org: dict
    researcher: dict
    admin: dict
    patients: list = field(default_factory=list)

    def call(self, fn, *args, **kwargs):
        with self.app.app_context():
            return fn(get_db(), *args, **kwargs)

    def study(self, researcher=None, **overrides):
        return self.call(studies.register, researcher=researcher or self.researcher,
                         **dict(STUDY, **overrides))

    def approved_study(self, **overrides):
        study = self.study(**overrides)
        return self.call(studies.approve, actor=self.admin, study_id=study["study_id"],
                         reason="Ethics approval checked.")

    def opt_in_all(self, patient):
        return self.call(consent.set_choice, patient=patient, choice=consent.ALL)

    def opt_out(self, patient):
        return self.call(consent.set_choice, patient=patient, choice=consent.OUT)

    def join(self, patient, study):
        return self.call(consent.join_study, patient=patient, study_id=study["study_id"])

    def leave(self, patient, study):
        return self.call(consent.leave_study, patient=patient, study_id=study["study_id"])

    def participants(self, study):
        return self.call(lambda db: list(consent.participants(db, study)))


def build(app, make_account, patients=3):
    with app.app_context():
        org = organizations.create(get_db(), name="Institute of Test Research",
                                   kind=organizations.RESEARCH)
    researcher = make_account(users.RESEARCHER, org_id=org["human_id"], name="Rae Searcher")
    admin = make_account(users.ADMIN)
    world = ResearchWorld(app, org, researcher, admin)
    world.patients = [make_account(users.PATIENT, name=f"Patient {n}") for n in range(patients)]
    return world
