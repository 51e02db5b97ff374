"""The patient details form, shared by self-registration and the front desk."""
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from models.people import patients

SEX_CHOICES = [SelectChoice("", "Choose…")] + [SelectChoice(value, patients.SEX_LABELS[value])
                                                 for value in patients.SEXES]


class PatientDetailsForm(FlaskForm):
    """The details every patient gives, at home or at a front desk."""
    name = StringField("Full name", validators=[DataRequired(), Length(max=100)])
    date_of_birth = DateField("Date of birth", validators=[InputRequired()])
    sex = SelectField("Sex", choices=SEX_CHOICES, validate_choice=False)
    email = EmailField("E-mail", validators=[Length(max=254)],
                       description="An e-mail address or a phone number (or both).")
    phone = TelField("Phone", validators=[Length(max=40)])
    username = StringField("Username", validators=[DataRequired(), Length(max=40)],
                           description="3–40 characters: letters, digits, dots, hyphens, underscores.")

    def details(self):
        return {"name": self.name.data, "date_of_birth": self.date_of_birth.data,
                "sex": self.sex.data, "email": self.email.data, "phone": self.phone.data,
                "username": self.username.data}
