"""The research forms: each parsed by Flask-WTF (CSRF), its values judged by models.research."""
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import Length

from blueprints.clinical_forms import MultiCheckboxField, choices
from models.core import record_types
from models.research import catalogue, studies

FIELD_CHOICES = [(spec.key, spec.label) for spec in catalogue.FIELDS]
TYPE_CHOICES = [(name, record_types.TYPE_LABELS[name]) for name in catalogue.COHORT_TYPES]


class StudyForm(FlaskForm):
    title = StringField("Title", validators=[Length(max=studies.MAX_TITLE * 2)])
    purpose = TextAreaField("Purpose", validators=[Length(max=studies.MAX_PURPOSE * 2)],
                            description="What the study wants to learn, and why it needs "
                                        "these fields (20 characters or more).",
                            render_kw={"rows": 4})
    ethics_ref = StringField("Ethics approval reference",
                             validators=[Length(max=studies.MAX_ETHICS * 2)],
                             description="The ethics committee's reference, e.g. IRB-2026-014.")
    fields = MultiCheckboxField("Fields (from the catalogue above; never free text or files)",
                                choices=choices(FIELD_CHOICES), validate_choice=False)
    record_types = MultiCheckboxField("Cohort: record types", choices=choices(TYPE_CHOICES),
                                      validate_choice=False)
    year_from = StringField("Cohort: first year", validators=[Length(max=8)],
                            render_kw={"inputmode": "numeric"})
    year_to = StringField("Cohort: last year", validators=[Length(max=8)],
                          render_kw={"inputmode": "numeric"})
    diagnosis_prefixes = StringField("Cohort: ICD-10 codes (optional)",
                                     validators=[Length(max=400)],
                                     description="Prefixes separated by commas, e.g. E11, I10 "
                                                 "(empty: any diagnosis).")
    k = StringField("k (smallest group size)", default=str(studies.DEFAULT_K),
                    validators=[Length(max=8)],
                    description=f"Every combination of age band, sex, ZIP3, year and diagnosis "
                                f"group is shared by at least k rows; at least "
                                f"{catalogue.MIN_K}.", render_kw={"inputmode": "numeric"})
    max_suppression = StringField("Largest share of rows that may be suppressed (%)",
                                  default=str(studies.DEFAULT_SUPPRESSION),
                                  validators=[Length(max=8)],
                                  description="Beyond it, the export is refused.",
                                  render_kw={"inputmode": "numeric"})
    submit = SubmitField("Register the study")

    def values(self):
        return {"title": self.title.data, "purpose": self.purpose.data,
                "ethics_ref": self.ethics_ref.data, "fields": self.fields.data or [],
                "record_types_chosen": self.record_types.data or [],
                "year_from": self.year_from.data, "year_to": self.year_to.data,
                "diagnosis_prefixes": self.diagnosis_prefixes.data, "k": self.k.data,
                "max_suppression": self.max_suppression.data}


class DecisionForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[Length(max=studies.MAX_REASON * 2)],
                           description="Kept with the decision; its hash is sealed. A study is "
                                       "decided once.",
                           render_kw={"rows": 3})
    approve = SubmitField("Approve")
    reject = SubmitField("Reject")

    def action(self):
        """The decision the pressed button asks for ("" when neither was pressed)."""
        return "approved" if self.approve.data else "rejected" if self.reject.data else ""
