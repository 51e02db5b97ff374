"""Forms shared by the clinical areas (doctor, patient, staff, organization requests).

Record forms are built from the record types' field specs, so a form shows exactly the fields,
units and choices the model validates. The forms only carry values: every rule (ranges,
required fields, diastolic < systolic, narrowing a request) is checked in the models, whose
messages are put next to the fields.
"""
from functools import lru_cache

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, MultipleFileField, PasswordField,
                     SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from models.clinical import records
from models.consent import workflow as consent
from models.core import record_types, specialties
from models.people import directory


def choices(pairs):
    """(value, label) pairs as the SelectChoice objects WTForms 3.3 expects."""
    return [SelectChoice(str(value), label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _field_for(spec):
    label = spec.label_with_unit
    description = spec.help or ""
    if spec.kind in (record_types.DECIMAL, record_types.INTEGER):
        hint = f"{spec.low}–{spec.high}" + (f" {spec.unit}" if spec.unit else "")
        return StringField(label, description=description or f"Plausible range {hint}",
                           render_kw={"inputmode": "decimal" if spec.kind == record_types.DECIMAL
                                      else "numeric", "autocomplete": "off"})
    if spec.kind == record_types.CHOICE:
        return SelectField(label, choices=choices([("", "—")] + list(spec.choices)), validate_choice=False,
                           description=description)
    if spec.kind == record_types.DATE:
        return StringField(label, description=description or "YYYY-MM-DD",
                           render_kw={"type": "date"})
    if spec.multiline:
        return TextAreaField(label, description=description, render_kw={"rows": 4})
    return StringField(label, description=description)


@lru_cache(maxsize=None)
def record_form_class(type_name, with_sensitivity=True):
    """One FlaskForm class per record type (cached: the specs never change at run time)."""
    spec = record_types.TYPES[type_name]
    attrs = {field.name: _field_for(field) for field in spec.fields}
    if with_sensitivity:
        attrs["sensitivity"] = SelectField("Sensitivity", choices=choices(records.SENSITIVITIES),
                                           validate_choice=False, default=records.NORMAL)
    if spec.files:
        attrs["files"] = MultipleFileField("Files (PDF, PNG, JPEG or DICOM)")
    attrs["submit"] = SubmitField("Save record")
    return type(f"{type_name.title().replace('_', '')}RecordForm", (FlaskForm,), attrs)


def record_values(form, type_name):
    """The submitted values as plain strings, keyed by field name (for the model)."""
    spec = record_types.TYPES[type_name]
    raw = {field.name: form[field.name].data for field in spec.fields}
    if "sensitivity" in form:
        raw["sensitivity"] = form.sensitivity.data
    return raw


def prefill(form, type_name, data, sensitivity):
    """Put a version's values into an amendment form (numbers back to text)."""
    for field in record_types.TYPES[type_name].fields:
        value = data.get(field.name)
        form[field.name].data = "" if value is None else str(value)
    if "sensitivity" in form:
        form.sensitivity.data = sensitivity


class FilesForm(FlaskForm):
    files = MultipleFileField("Files (PDF, PNG, JPEG or DICOM)")
    submit = SubmitField("Attach files")


class EnteredInErrorForm(FlaskForm):
    reason = StringField("Why is this record wrong?", validators=[Optional(), Length(max=2000)])
    submit = SubmitField("Mark as entered in error")


TYPE_CHOICES = choices((name, spec.label) for name, spec in record_types.TYPES.items())


class ScopeFields:
    """Scope, shared by requests, approvals and proactive grants."""
    scope = SelectField("Access to", choices=choices(consent.SCOPE_KINDS), validate_choice=False,
                        default=consent.ALL)
    types = MultiCheckboxField("Record types (if chosen types)", choices=TYPE_CHOICES,
                               validate_choice=False)
    picked = MultiCheckboxField("Records (if named records)", validate_choice=False)
    """The patient's own records to tick (choices set by the view); the typed ids still work."""
    records = StringField("Record ids (if named records)",
                          description="e.g. PAT-000234-R12, PAT-000234-R13",
                          validators=[Optional(), Length(max=2000)])


def named_records(form):
    """The records a scope names: those ticked, then those typed (one text for the model)."""
    ticked = list(form.picked.data or []) if getattr(form, "picked", None) else []
    return ", ".join(ticked + ([form.records.data] if form.records.data else []))


class RequestAccessForm(ScopeFields, FlaskForm):
    picked = None  # a doctor does not see the patient's list of records
    purpose = SelectField("Purpose", choices=choices(consent.PURPOSES), validate_choice=False,
                          default="treatment")
    duration_days = SelectField("For how long", choices=choices(consent.DURATIONS),
                                validate_choice=False, default="7")
    one_time = BooleanField("One-time access (a single read)")
    message = TextAreaField("Message to the patient", validators=[Optional(), Length(max=5000)],
                            render_kw={"rows": 3})
    submit = SubmitField("Send request")


class ApproveForm(ScopeFields, FlaskForm):
    duration_days = SelectField("For how long", validate_choice=False)
    one_time = BooleanField("One-time access only")
    submit = SubmitField("Approve")


class RejectForm(FlaskForm):
    note = StringField("Note to the requester (optional)", validators=[Optional(), Length(max=5000)])
    submit = SubmitField("Reject")


class GranteeSearchForm(FlaskForm):
    """Whom a patient may share with: a name (or a specialty typed), a kind, a specialty."""
    class Meta:
        csrf = False
    q = StringField("Name or specialty", description="e.g. Saint Anne, Heartley or cardiology",
                    validators=[Optional(), Length(max=120)], render_kw={"autocomplete": "off"})
    kind = SelectField("Who", choices=choices(directory.GRANTEE_KINDS), validate_choice=False)
    specialty = SelectField("Specialty (doctors)", validate_choice=False, choices=choices(
        (("", "Any specialty"),) + specialties.SPECIALTIES))
    submit = SubmitField("Search")


class GrantForm(ScopeFields, FlaskForm):
    grantee = StringField("Or type their id", description="e.g. DOC-000103 or ORG-0007",
                          validators=[Optional(), Length(max=40)])
    purpose = SelectField("Purpose", choices=choices(consent.PURPOSES), validate_choice=False,
                          default="treatment")
    duration_days = SelectField("For how long", choices=choices(consent.DURATIONS),
                                validate_choice=False, default="30")
    one_time = BooleanField("One-time access (a single read)")
    note = StringField("Note (optional)", validators=[Optional(), Length(max=5000)])
    submit = SubmitField("Share")


class ConfirmForm(FlaskForm):
    """A form with only CSRF and a button (revoke, cancel, dispense)."""
    next = HiddenField()
    submit = SubmitField("Confirm")


class PatientSearchForm(FlaskForm):
    """A patient by name and/or date of birth, or by id (`human_id` keeps old links working)."""
    class Meta:
        csrf = False
    q = StringField("Name or patient id", description="e.g. Leo García, or PAT-000234",
                    validators=[Optional(), Length(max=120)], render_kw={"autocomplete": "off"})
    date_of_birth = StringField("Date of birth", validators=[Optional(), Length(max=20)],
                                render_kw={"type": "date", "autocomplete": "off"})
    human_id = StringField("Patient id", validators=[Optional(), Length(max=40)])
    submit = SubmitField("Search")


class EmergencyForm(FlaskForm):
    reason = TextAreaField("Reason for emergency access", validators=[Optional(), Length(max=5000)],
                           render_kw={"rows": 3})
    password = PasswordField("Your password (again)", validators=[Optional(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField("Open emergency access")


class RecordFilterForm(FlaskForm):
    """The patient's record list: one type, and the days records were written (GET)."""
    class Meta:
        csrf = False
    type = SelectField("Type", choices=choices([("", "All types")]
                                               + list(record_types.TYPE_LABELS.items())),
                       validators=[Optional()])
    since = DateField("Written from", validators=[Optional()])
    until = DateField("Written until", validators=[Optional()])
    submit = SubmitField("Show")


class AccessLogFilterForm(FlaskForm):
    class Meta:
        csrf = False
    viewer = StringField("Who (name or id)", validators=[Optional(), Length(max=80)])
    record = StringField("Record id", validators=[Optional(), Length(max=40)])
    since = StringField("From", render_kw={"type": "date"}, validators=[Optional(), Length(max=10)])
    until = StringField("To", render_kw={"type": "date"}, validators=[Optional(), Length(max=10)])
    submit = SubmitField("Filter")
