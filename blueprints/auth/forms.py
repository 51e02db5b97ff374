from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

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
