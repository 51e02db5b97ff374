from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice

from blueprints.patient_details import PatientDetailsForm
from models.core import specialties
from models.people import organizations, users

DOCTOR_NOTE = ("A doctor uploads a licence and is verified by an administrator before seeing "
               "any clinical page.")


class StaffForm(FlaskForm):
    role = SelectField("Role", choices=[], validate_choice=False)
    name = StringField("Full name", render_kw={"autocomplete": "off"})
    username = StringField("Username", render_kw={"autocomplete": "off"})
    specialty = SelectField("Specialty (doctors)", validate_choice=False,
                            choices=[SelectChoice("", "None")] + [
                                SelectChoice(code, label) for code, label in specialties.SPECIALTIES],
                            description="What patients find the doctor by when they share.")
    submit = SubmitField("Add to staff")

    def __init__(self, org, *args, **kwargs):
        """Only the roles the organization's kind employs are offered (the model refuses the
        others whatever is posted)."""
        super().__init__(*args, **kwargs)
        roles = organizations.member_roles(org)
        self.role.choices = [SelectChoice("", "Choose…")] + [
            SelectChoice(role, users.ROLE_LABELS[role]) for role in roles]
        self.role.description = DOCTOR_NOTE if users.DOCTOR in roles else ""
        if users.DOCTOR not in roles:
            del self.specialty   # only doctors have one


class FrontDeskPatientForm(PatientDetailsForm):
    confirm_new_person = BooleanField(
        "I checked: this is a different person with the same name and date of birth")
    """Shown only once a possible duplicate was found (the view removes it otherwise)."""
    submit = SubmitField("Register patient")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.someone_else()
