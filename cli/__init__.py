"""The `flask` commands, one module per subject; add a module here to add commands."""
from cli import access, accounts, fhir, ledger, notify, seed

COMMAND_MODULES = (accounts, seed, ledger, notify, fhir, access)


def register(app):
    for module in COMMAND_MODULES:
        module.register(app)
