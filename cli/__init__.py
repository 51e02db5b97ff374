"""The `flask` commands, one module per subject; add a module here to add commands."""
from cli import accounts, ledger, seed

COMMAND_MODULES = (accounts, seed, ledger)


def register(app):
    for module in COMMAND_MODULES:
        module.register(app)
