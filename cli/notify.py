"""`flask notify replay`: deliver again the notifications that blocks in a range cause."""
import click
from flask.cli import AppGroup

from models.notify import events
from models.storage.db import get_db

notify_cli = AppGroup("notify", help="Notifications.")


@notify_cli.command("replay")
@click.option("--from", "first", type=click.IntRange(0), required=True,
              help="The first block height to look at.")
@click.option("--to", "last", type=click.IntRange(0), default=None,
              help="Stop before this height (default: the end of the chain).")
def replay_command(first, last):
    """After a crash cut a change between its height and its notification: notify what the
    blocks in [FROM, TO) caused; what was already delivered is skipped (never doubled)."""
    seen, created = events.replay(get_db(), first, last)
    click.echo(f"Looked at {seen} block(s): {created} notification(s) created.")


def register(app):
    app.cli.add_command(notify_cli)
