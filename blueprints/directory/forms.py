"""The directory's forms: the search (GET, no CSRF: it changes nothing) and the entry editor.

On-call hours are MAX_WINDOWS rows of three plain fields each (`day_N`, `start_N`, `end_N`), so
every field has its own label and error, and the error summary links to each bad one.
"""
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from models.care import doctor_directory
from models.core import specialties

DAY_CHOICES = [SelectChoice("", "—")] + [SelectChoice(str(number), name) for number, name
                                         in enumerate(doctor_directory.WEEKDAYS)]


class DirectorySearchForm(FlaskForm):
    class Meta:
        csrf = False
    name = StringField("Name", description="e.g. Dana, or Doctor", validators=[
        Optional(), Length(max=120)], render_kw={"autocomplete": "off"})
    specialty = SelectField("Specialty", validate_choice=False, choices=[
        SelectChoice("", "Any specialty")] + [SelectChoice(code, label)
                                              for code, label in specialties.SPECIALTIES])
    org = SelectField("Organization", validate_choice=False, choices=[])
    on_call = BooleanField("On call now only")
    submit = SubmitField("Search")

    def __init__(self, organizations, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.org.choices = [SelectChoice("", "Any organization")] + [
            SelectChoice(human_id, name) for human_id, name in organizations]


class EntryForm(FlaskForm):
    department = StringField("Department", description="e.g. Cardiology ward, 3rd floor",
                             render_kw={"autocomplete": "off"})
    phone = StringField("Work phone", description="e.g. +33 1 23 45 67 89",
                        render_kw={"autocomplete": "off", "inputmode": "tel"})
    extension = StringField("Extension", description="1 to 6 digits",
                            render_kw={"autocomplete": "off", "inputmode": "numeric"})
    email = StringField("Work e-mail", render_kw={"autocomplete": "off", "inputmode": "email"})
    submit = SubmitField("Save a new version")

    def raw(self):
        """The values as typed, for the model to clean (it names every bad field)."""
        return {"department": self.department.data, "phone": self.phone.data,
                "extension": self.extension.data, "email": self.email.data,
                "windows": [(self[f"day_{number}"].data, self[f"start_{number}"].data,
                             self[f"end_{number}"].data) for number in window_numbers()]}

    def fill(self, entry):
        """Start from the current version (a GET)."""
        for name in ("department", "phone", "extension", "email"):
            self[name].data = entry.get(name) or ""
        for number, window in zip(window_numbers(), entry.get("on_call") or []):
            self[f"day_{number}"].data = str(window["day"])
            self[f"start_{number}"].data = window["start"]
            self[f"end_{number}"].data = window["end"]

    def window_rows(self):
        return [(number, self[f"day_{number}"], self[f"start_{number}"], self[f"end_{number}"])
                for number in window_numbers()]


def window_numbers():
    return range(1, doctor_directory.MAX_WINDOWS + 1)


for _number in window_numbers():
    setattr(EntryForm, f"day_{_number}", SelectField(f"Window {_number}: weekday",
                                                     choices=DAY_CHOICES, validate_choice=False))
    setattr(EntryForm, f"start_{_number}", StringField(
        f"Window {_number}: from", render_kw={"autocomplete": "off", "placeholder": "HH:MM"}))
    setattr(EntryForm, f"end_{_number}", StringField(
        f"Window {_number}: until", render_kw={"autocomplete": "off", "placeholder": "HH:MM"}))
