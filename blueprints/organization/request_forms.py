"""Forms for access requests made on behalf of an organization."""
from blueprints.clinical_forms import ConfirmForm, OrgRequestAccessForm

__all__ = ["ConfirmForm", "OrgRequestAccessForm"]
