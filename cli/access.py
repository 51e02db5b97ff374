"""`flask access-map`: who may open each route, for a security review of the installation."""
import click
from flask import current_app
from flask.cli import with_appcontext

from blueprints.guards import access_of


@click.command("access-map")
@with_appcontext
def access_map_command():
    """One tab-separated line per route (`| column -t -s $'\\t'` aligns them): methods, path,
    who may open it ("public", "any-user" or the roles) and whether a doctor's licence must
    be verified first; "UNGUARDED" for a route with no mark (the route tests refuse one)."""
    app = current_app
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint)):
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue  # files served as they are: the app's and Bootstrap's
        methods = ",".join(sorted(rule.methods - {"HEAD", "OPTIONS"}))
        access = access_of(app.view_functions[rule.endpoint])
        if access is None:
            shown = "UNGUARDED"
        else:
            shown = access[0] + (" (doctors: verified licence)" if access[1] else "")
        click.echo(f"{methods}\t{rule.rule}\t{shown}")


def register(app):
    app.cli.add_command(access_map_command)
