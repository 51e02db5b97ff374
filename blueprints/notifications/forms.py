from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SubmitField
from wtforms.validators import Length, Optional

from models.people.patients import MAX_EMAIL_LENGTH


class MarkForm(FlaskForm):
    """Open, mark read, mark all read: only CSRF and a button."""
    submit = SubmitField("Mark read")


class SettingsForm(FlaskForm):
    email = EmailField("E-mail address", validators=[Optional(), Length(max=MAX_EMAIL_LENGTH)],
                       render_kw={"autocomplete": "email"},
                       description="Optional. New notifications are mailed here when the "
                                   "hospital has turned e-mail on.")
    email_notifications = BooleanField("E-mail me about new notifications")
    submit = SubmitField("Save")
