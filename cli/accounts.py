"""`flask init-db` and `flask create-admin`."""
import click
from flask import current_app
from flask.cli import with_appcontext

from models import startup
from models.core.errors import DomainError
from models.people import directory, users
from models.storage.db import get_db


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create indexes (idempotent), give accounts written before name search their search
    keys, and check the keys against the database."""
    db = get_db()
    startup.ensure_indexes(db)
    written = directory.backfill(db)
    click.echo("Indexes are in place; keys match the database."
               + (f" {written} account(s) got their search keys." if written else ""))


@click.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--name", prompt="Full name")
@click.password_option(prompt="Password (not shown)")
@with_appcontext
def create_admin_command(username, name, password):
    """Create an administrator account (the password is prompted for and never echoed)."""
    try:
        admin = users.create_user(get_db(), username=username, role=users.ADMIN, name=name,
                                  password=password, rounds=current_app.config["BCRYPT_ROUNDS"])
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Administrator {admin['human_id']} ({admin['username']}) created.")


def register(app):
    app.cli.add_command(init_db_command)
    app.cli.add_command(create_admin_command)
