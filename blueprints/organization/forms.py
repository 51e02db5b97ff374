from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice

from blueprints.patient_details import PatientDetailsForm
from models.people import organizations, users

ROLE_CHOICES = [SelectChoice("", "Choose…")] + [SelectChoice(role, users.ROLE_LABELS[role])
                                                  for role in organizations.MEMBER_ROLES]


class StaffForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validate_choice=False,
                       description="A doctor uploads a licence and is verified by an administrator "
                                   "before seeing any clinical page.")
    name = StringField("Full name", render_kw={"autocomplete": "off"})
    username = StringField("Username", render_kw={"autocomplete": "off"})
    submit = SubmitField("Add to staff")


class FrontDeskPatientForm(PatientDetailsForm):
    submit = SubmitField("Register patient")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.someone_else()
