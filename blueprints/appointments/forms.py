"""The appointment forms: each parsed by Flask-WTF (CSRF), its values checked by the models."""
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from blueprints.clinical_forms import choices
from models.care import appointments, schedules
from models.core import specialties

ACTION_LABELS = {"accepted": "Accept", "declined": "Decline", "cancelled": "Cancel",
                 "arrived": "Check in", "fulfilled": "Mark fulfilled", "noshow": "Mark no-show",
                 "entered_in_error": "Mark entered in error"}
"""The button of each action on an appointment's page."""

DONE_LABELS = {"requested": "Requested", "time_proposed": "Time proposed",
               "accepted": "Accepted", "declined": "Declined", "cancelled": "Cancelled",
               "arrived": "Checked in", "fulfilled": "Fulfilled", "noshow": "No-show",
               "entered_in_error": "Entered in error"}
"""How the history names each action once it is done."""

REASON_HINT = (f"{appointments.MIN_TEXT} to {appointments.MAX_TEXT} characters. The doctor "
               "sees it; it does not open your records to anyone.")


class DoctorSearchForm(FlaskForm):
    class Meta:
        csrf = False
    q = StringField("Doctor's name or specialty", validators=[Optional(), Length(max=120)],
                    description="e.g. Dana, or cardiology", render_kw={"autocomplete": "off"})
    specialty = SelectField("Specialty", validate_choice=False, choices=choices(
        [("", "Any specialty")] + list(specialties.SPECIALTIES)))
    submit = SubmitField("Find doctors")


class BookForm(FlaskForm):
    start = RadioField("Time", validate_choice=False, choices=[])
    reason = TextAreaField("Reason for the appointment", description=REASON_HINT,
                           validators=[Length(max=5000)], render_kw={"rows": 3})
    submit = SubmitField("Book this time")


class RequestForm(FlaskForm):
    reason = TextAreaField("Reason for the appointment", description=REASON_HINT,
                           validators=[Length(max=5000)], render_kw={"rows": 3})
    preferred_days = StringField("Preferred days and times (optional)",
                                 validators=[Optional(), Length(max=5000)],
                                 description="e.g. Tuesday or Thursday mornings")
    submit = SubmitField("Request an appointment")


class ActionForm(FlaskForm):
    note = TextAreaField("Reason or note", validators=[Optional(), Length(max=5000)],
                         description="Needed to cancel or mark entered in error; optional when "
                                     "declining.", render_kw={"rows": 2})
    submit = SubmitField("Confirm")


class ProposeForm(FlaskForm):
    start = SelectField("Time to propose", validate_choice=False, choices=[])
    submit = SubmitField("Propose this time")


class ScheduleForm(FlaskForm):
    slot_minutes = SelectField("Slot length", validate_choice=False, default="30",
                               choices=choices((m, f"{m} minutes") for m in schedules.SLOT_CHOICES))
    hours = TextAreaField("Weekly hours", validators=[Length(max=5000)], render_kw={"rows": 6},
                          description="One period a line, in the hospital's local time, e.g. "
                                      "Mon 09:00-12:00. Several periods a day are fine.")
    leave = TextAreaField("Leave (optional)", validators=[Optional(), Length(max=5000)],
                          render_kw={"rows": 3},
                          description="One line per absence: 2026-12-24 to 2027-01-02, or one "
                                      "date.")
    submit = SubmitField("Publish a new version")


class BookingModeForm(FlaskForm):
    mode = RadioField("How patients book", validate_choice=False,
                      choices=choices(schedules.BOOKING_MODES))
    submit = SubmitField("Save booking mode")
