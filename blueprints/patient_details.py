"""The patient details form, shared by self-registration and the front desk.

The form only carries values: the model (`patients.check`) judges every field and the username
in one pass, so a refused form shows all its problems at once, each on its field.
"""
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice

from models.people import patients

SEX_CHOICES = [SelectChoice("", "Choose…")] + [SelectChoice(value, patients.SEX_LABELS[value])
                                                 for value in patients.SEXES]


class PatientDetailsForm(FlaskForm):
    """The details every patient gives, at home or at a front desk."""
    name = StringField("Full name", render_kw={"autocomplete": "name"})
    date_of_birth = StringField("Date of birth", render_kw={"type": "date", "autocomplete": "bday"})
    sex = SelectField("Sex", choices=SEX_CHOICES, validate_choice=False,
                      render_kw={"autocomplete": "sex"})
    email = EmailField("E-mail", description="An e-mail address or a phone number (or both).",
                       render_kw={"autocomplete": "email"})
    phone = TelField("Phone", render_kw={"autocomplete": "tel"})
    postcode = StringField("Postcode (optional)", render_kw={"autocomplete": "postal-code"},
                           description="Only its first three digits (a US ZIP3) may ever reach "
                                       "a research study, and only if you opt in.")
    username = StringField("Username", render_kw={"autocomplete": "username"},
                           description="3–40 characters: letters, digits, dots, hyphens, underscores.")

    def someone_else(self):
        """For details typed on someone else's behalf (the front desk): no autofill from the
        browser of the person typing."""
        for field in self:
            if field.render_kw and "autocomplete" in field.render_kw:
                field.render_kw = {**field.render_kw, "autocomplete": "off"}
        return self

    def details(self):
        return {"name": self.name.data, "date_of_birth": self.date_of_birth.data,
                "sex": self.sex.data, "email": self.email.data, "phone": self.phone.data,
                "postcode": self.postcode.data, "username": self.username.data}
