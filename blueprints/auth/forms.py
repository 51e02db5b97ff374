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
