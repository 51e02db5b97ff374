"""The form an organization manager uses to ask a patient for access for the organization."""
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from blueprints.clinical_forms import RequestAccessForm

PATIENT_ID_MISSING = "Choose the patient first: search by name and date of birth, or type an id."


class OrgRequestAccessForm(RequestAccessForm):
    """The doctor's request form plus the patient's id, which comes first.

    WTForms orders fields by when they were created, so a field added by a subclass would be
    rendered after the inherited Send button; it is moved to the front instead.
    """
    patient_id = StringField("Patient id", description="Chosen from the search above, or typed: "
                             "e.g. PAT-000234",
                             filters=[lambda text: text.strip() if isinstance(text, str) else text],
                             validators=[DataRequired(message=PATIENT_ID_MISSING), Length(max=40)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._fields.move_to_end("patient_id", last=False)
