"""The form an organization manager uses to ask a patient for access for the organization."""
from wtforms import StringField
from wtforms.validators import Length, Optional

from blueprints.clinical_forms import RequestAccessForm


class OrgRequestAccessForm(RequestAccessForm):
    patient_id = StringField("Patient id", description="e.g. PAT-000234",
                             validators=[Optional(), Length(max=40)])
