"""The admission forms: the desk's admit, transfer and discharge, the doctor's summary.

The forms only carry the typed text (with length limits a browser shows); the model checks
every value and names each problem by its field (models.care.admission_rules)."""
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from models.care import admission_rules as rules
from models.core import record_types

TIME_HINT = "Your local time as YYYY-MM-DD HH:MM; leave empty for now."


def _time_field(label):
    return StringField(label, description=TIME_HINT, validators=[Length(max=20)],
                       render_kw={"autocomplete": "off", "placeholder": "YYYY-MM-DD HH:MM"})


class AdmitForm(FlaskForm):
    patient_id = StringField("Patient id", validators=[Length(max=20)],
                             description="e.g. PAT-000234 (find the patient above)",
                             render_kw={"autocomplete": "off"})
    ward = StringField("Ward", validators=[Length(max=rules.MAX_WARD)])
    bed = StringField("Bed", validators=[Length(max=rules.MAX_BED)])
    attending = SelectField("Attending doctor", choices=[], validate_choice=False)
    reason = TextAreaField("Reason for admission", validators=[Length(max=rules.MAX_REASON)],
                           description="Read by the hospital's doctors and the patient only.")
    at = _time_field("Admitted at (today)")
    submit = SubmitField("Admit")

    def __init__(self, doctors, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.attending.choices = [SelectChoice("", "Choose…")] + [
            SelectChoice(doc["human_id"], f"{doc.get('name')} ({doc['human_id']})")
            for doc in doctors]


class TransferForm(FlaskForm):
    ward = StringField("New ward", validators=[Length(max=rules.MAX_WARD)])
    bed = StringField("New bed", validators=[Length(max=rules.MAX_BED)])
    at = _time_field("Moved at")
    submit = SubmitField("Transfer")


class DischargeForm(FlaskForm):
    destination = SelectField("Destination", validate_choice=False,
                              choices=[SelectChoice("", "Choose…")] + [
                                  SelectChoice(value, label) for value, label in rules.DESTINATIONS])
    at = _time_field("Discharged at")
    submit = SubmitField("Discharge")


class ErrorForm(FlaskForm):
    reason = TextAreaField("Why is this admission wrong?",
                           validators=[Length(max=rules.MAX_REASON)],
                           description="e.g. recorded for the wrong patient. The stay stays "
                                       "on record, marked as entered in error.")
    submit = SubmitField("Mark as entered in error")


_SUMMARY = {spec.name: spec for spec in record_types.TYPES[record_types.DISCHARGE_SUMMARY].fields}


class SummaryForm(FlaskForm):
    """The parts the doctor writes; the admission's id and dates come from the admission."""
    diagnosis = StringField(_SUMMARY["diagnosis"].label,
                            validators=[Length(max=_SUMMARY["diagnosis"].max_length)])
    course = TextAreaField(_SUMMARY["course"].label,
                           validators=[Length(max=_SUMMARY["course"].max_length)])
    medication = TextAreaField(_SUMMARY["medication"].label,
                               validators=[Length(max=_SUMMARY["medication"].max_length)])
    follow_up = TextAreaField(_SUMMARY["follow_up"].label,
                              validators=[Length(max=_SUMMARY["follow_up"].max_length)])
    submit = SubmitField("Save the discharge summary")

    def values(self):
        return {name: getattr(self, name).data for name in
                ("diagnosis", "course", "medication", "follow_up")}
