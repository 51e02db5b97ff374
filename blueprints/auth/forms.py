from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from models.people import api_tokens
from models.people.users import MAX_PASSWORD_BYTES


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField("Sign in")


class SetPasswordForm(FlaskForm):
    # Both problems (the password's and the repetition's) come from the model in one pass.
    password = PasswordField("New password", render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat the new password", render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Save password")

    hint = f"At least 12 characters, at most {MAX_PASSWORD_BYTES} bytes, not your username."


def _expiry_choices():
    days = {7: "7 days", 30: "30 days", 90: "90 days", 365: "1 year"}
    return [SelectChoice(str(n), days.get(n, f"{n} days")) for n in (90, 30, 7, 365)
            if n in api_tokens.EXPIRY_DAYS] + [SelectChoice("never", "No expiry")]


class TokenForm(FlaskForm):
    # The model judges the name and the lifetime (both messages in one pass).
    name = StringField("Token name", description="What will use it, e.g. \"my laptop script\".",
                       render_kw={"autocomplete": "off",
                                  "maxlength": api_tokens.MAX_NAME_LENGTH})
    expires = SelectField("Expires after", choices=_expiry_choices(), validate_choice=False)
    submit = SubmitField("Create token")

    @property
    def expires_days(self):
        value = self.expires.data or ""
        return int(value) if value.isdigit() else None if value == "never" else -1


class RevokeTokenForm(FlaskForm):
    submit = SubmitField("Revoke")


CODE_FIELD = {"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": "12",
              "spellcheck": "false", "autocapitalize": "off"}
"""One field that takes a pasted code ("123 456" too) and password managers' autofill."""


class CodeForm(FlaskForm):
    code = StringField("Code from your authenticator app",
                       validators=[DataRequired(), Length(max=12)], render_kw=CODE_FIELD)
    submit = SubmitField("Continue")


class RecoveryForm(FlaskForm):
    recovery = StringField("Recovery code", validators=[DataRequired(), Length(max=20)],
                           render_kw={"autocomplete": "off", "spellcheck": "false",
                                      "autocapitalize": "off"})
    submit = SubmitField("Sign in with a recovery code")


class ActivateForm(FlaskForm):
    code = StringField("Code shown by the app", validators=[DataRequired(), Length(max=12)],
                       render_kw=CODE_FIELD)
    submit = SubmitField("Turn on two-factor sign-in")


class RegenerateForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})
    code = StringField("Code from your authenticator app",
                       validators=[DataRequired(), Length(max=12)], render_kw=CODE_FIELD)
    submit = SubmitField("Make new recovery codes")
