from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from models.people import organizations, two_factor_events, verification

KIND_CHOICES = [SelectChoice("", "Choose…")] + [SelectChoice(kind, organizations.KIND_LABELS[kind])
                                                  for kind in organizations.KINDS]


class OrganizationForm(FlaskForm):
    # No validators here: the model judges every field and both names in one pass.
    name = StringField("Organization name", render_kw={"autocomplete": "off"})
    kind = SelectField("Kind", choices=KIND_CHOICES, validate_choice=False)
    manager_name = StringField("Manager's full name", render_kw={"autocomplete": "off"})
    manager_username = StringField("Manager's username", render_kw={"autocomplete": "off"},
                                   description="The manager signs in with a one-time setup code "
                                               "and then chooses a password.")
    submit = SubmitField("Create organization")


class AuditorForm(FlaskForm):
    name = StringField("Full name", render_kw={"autocomplete": "off"})
    username = StringField("Username", render_kw={"autocomplete": "off"})
    submit = SubmitField("Create auditor")


class RejectForm(FlaskForm):
    reason = TextAreaField("Reason (the doctor sees it)",
                           validators=[DataRequired(), Length(min=verification.MIN_REASON,
                                                              max=verification.MAX_REASON)])
    submit = SubmitField("Reject licence")


class TwoFactorResetForm(FlaskForm):
    reason = TextAreaField("Reason (sealed on the ledger; the person sees it)",
                           validators=[DataRequired(),
                                       Length(min=two_factor_events.MIN_REASON,
                                              max=two_factor_events.MAX_REASON)])
    submit = SubmitField("Reset two-factor sign-in")
