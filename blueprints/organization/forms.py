from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from blueprints.patient_details import PatientDetailsForm
from models.core import specialties
from models.people import organizations, users

ROLE_CHOICES = [SelectChoice("", "Choose…")] + [SelectChoice(role, users.ROLE_LABELS[role])
                                                  for role in organizations.MEMBER_ROLES]


class StaffForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validate_choice=False,
                       description="A doctor uploads a licence and is verified by an administrator "
                                   "before seeing any clinical page.")
    name = StringField("Full name", validators=[DataRequired(), Length(max=100)])
    username = StringField("Username", validators=[DataRequired(), Length(max=40)])
    specialty = SelectField("Specialty (doctors)", validate_choice=False,
                            choices=[SelectChoice("", "None")] + [
                                SelectChoice(code, label) for code, label in specialties.SPECIALTIES],
                            description="What patients find the doctor by when they share.")
    submit = SubmitField("Add to staff")


class FrontDeskPatientForm(PatientDetailsForm):
    confirm_new_person = BooleanField(
        "I checked: this is a different person with the same name and date of birth")
    """Shown only once a possible duplicate was found (the view removes it otherwise)."""
    submit = SubmitField("Register patient")
