"""The form an organization manager uses to ask a patient for access for the organization."""
from wtforms import StringField
from wtforms.validators import Length, Optional

from blueprints.clinical_forms import RequestAccessForm


class OrgRequestAccessForm(RequestAccessForm):
    patient_id = StringField("Patient id", description="Chosen from the search above, or typed: "
                             "e.g. PAT-000234", validators=[Optional(), Length(max=40)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._fields.move_to_end("patient_id", last=False)  # whom to ask comes first
