from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (DateField, IntegerField, RadioField, SelectField, StringField, SubmitField,
                     TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from models.consent import emergency
from models.sealing import checkpoints, explorer



class StartAuditForm(FlaskForm):
    held = TextAreaField("A checkpoint you kept (optional)", validators=[
        Optional(), Length(max=checkpoints.MAX_NOTE_BYTES)],
        description="Paste a checkpoint note saved earlier outside the system: the audit then "
                    "also proves the chain still extends it.")
    submit = SubmitField("Run full audit")


class CreateCheckpointForm(FlaskForm):
    submit = SubmitField("Create a checkpoint now")


class CompareCheckpointForm(FlaskForm):
    note_file = FileField("Checkpoint file (.note)")
    note = TextAreaField("…or paste the checkpoint note", validators=[
        Optional(), Length(max=checkpoints.MAX_NOTE_BYTES)])
    submit = SubmitField("Compare with the current chain")


class BlockFilterForm(FlaskForm):
    """The explorer's GET filters (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    kind = SelectField("Kind", choices=[], validators=[Optional()], default="")
    subject = StringField("Subject id", validators=[Optional(), Length(max=40)],
                          description="e.g. PAT-000234-R12, REQ-000012, DOC-000003")
    height = IntegerField("At or below height", validators=[Optional(), NumberRange(min=0)])
    day = DateField("Date (UTC)", validators=[Optional()])
    submit = SubmitField("Filter")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every kind the sealing registry declares (filled at start-up, so read it now).
        self.kind.choices = [SelectChoice("", "Any kind")] + [
            SelectChoice(kind, kind) for kind in explorer.kinds()]


class ReviewForm(FlaskForm):
    verdict = RadioField("Verdict", choices=[SelectChoice("justified", "Justified"),
                                             SelectChoice("unjustified", "Not justified")],
                         validators=[DataRequired(message="Choose justified or not justified.")])
    note = TextAreaField("Note", validators=[Optional(), Length(max=emergency.MAX_NOTE)])
    submit = SubmitField("Record the review")
