"""What someone holding a receipt needs to check it offline, from any folder: the ledger's
public keys (as a trust file, so receipts signed before a key rotation still check) and the
checker itself, the `ledger` package as one runnable zip file (it needs Python 3.11 and
pycryptodome, nothing of this app):

    python medledger-verify.pyz verify-receipt receipt.json --trust medledger-ledger-keys.json
"""
import io
import json
import zipfile
from functools import lru_cache
from pathlib import Path

import ledger

from models.sealing import trust

KEYS_NAME = "medledger-ledger-keys.json"
CHECKER_NAME = "medledger-verify.pyz"
ENTRY_POINT = "import sys\n\nfrom ledger.__main__ import main\n\nsys.exit(main())\n"


def command(receipt_name="receipt.json"):
    """The one line that checks a receipt in the folder holding the three files."""
    return f"python {CHECKER_NAME} verify-receipt {receipt_name} --trust {KEYS_NAME}"


def keys_json(app=None):
    """The public keys that sign the ledger's checkpoints, with the sizes each may sign."""
    entries = [{"vkey": key["vkey"], "from_size": key["from_size"], "to_size": key["to_size"]}
               for key in trust.public_keys(app)]
    return json.dumps({"keys": entries}, indent=2) + "\n"


@lru_cache(maxsize=1)
def checker_zip():
    """The zip application: the `ledger` package's modules and a __main__ running its CLI."""
    package = Path(ledger.__file__).parent
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__main__.py", ENTRY_POINT)
        for source in sorted(package.glob("*.py")):
            archive.write(source, f"ledger/{source.name}")
    return buffer.getvalue()
