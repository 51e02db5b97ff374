"""`python -m ledger`: the auditor's tools, needing no database and no app.

    python -m ledger verify-receipt RECEIPT --pubkey KEYFILE      exit 0 valid, 1 invalid
    python -m ledger audit-export DIR --pubkey KEYFILE [--trust TRUSTFILE] [--checkpoint NOTE ...]
    python -m ledger keygen NAME --out PATH                       PATH (0600) and PATH.pub
"""
import argparse
import json
import os
import sys

from ledger.export import audit_export
from ledger.notes import NoteError, SigningKey, TrustEntry, TrustFile, VerifierKey
from ledger.receipt import verify_receipt


def _verifiers(args):
    """A TrustFile if one is given (plus any --pubkey as always-valid), else the keys."""
    keys = [VerifierKey.load(path) for path in args.pubkey or ()]
    if args.trust:
        trust = TrustFile.load(args.trust)
        trust.entries.extend(TrustEntry(key, 0) for key in keys)
        return trust
    if not keys:
        raise NoteError("give at least one --pubkey (or --trust)")
    return keys


def _verify_receipt(args) -> int:
    with open(args.receipt, encoding="utf-8") as f:
        try:
            receipt = json.load(f)
        except ValueError as e:
            print(f"INVALID: not JSON: {e}")
            return 1
    ok, reason = verify_receipt(receipt, _verifiers(args))
    print(("VALID: " if ok else "INVALID: ") + reason)
    return 0 if ok else 1


def _audit_export(args) -> int:
    held = []
    for path in args.checkpoint or ():
        with open(path, encoding="utf-8", newline="") as f:
            held.append(f.read())
    report = audit_export(args.directory, _verifiers(args), held_checkpoints=held)
    for line in report.lines():
        print(line)
    print(report.verdict())
    return 0 if report.ok else 1


def _keygen(args) -> int:
    if os.path.exists(args.out) or os.path.exists(args.out + ".pub"):
        print(f"refusing to overwrite {args.out}", file=sys.stderr)
        return 2
    key = SigningKey.generate(args.name)
    key.save(args.out)
    key.public().save(args.out + ".pub")
    print(f"private key: {args.out} (mode 0600; keep it out of the database)")
    print(f"public key:  {args.out}.pub")
    print(f"verifier key: {key.public()}")
    print(f"fingerprint:  {key.public().fingerprint}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledger", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    receipt = commands.add_parser("verify-receipt", help="check a JSON receipt offline")
    receipt.add_argument("receipt")
    receipt.add_argument("--pubkey", action="append", help="verifier key file (repeatable)")
    receipt.add_argument("--trust", help="trust file: keys with the sizes they may sign")
    export = commands.add_parser("audit-export", help="audit an export directory offline")
    export.add_argument("directory")
    export.add_argument("--pubkey", action="append", help="verifier key file (repeatable)")
    export.add_argument("--trust", help="trust file: keys with the sizes they may sign")
    export.add_argument("--checkpoint", action="append",
                        help="a checkpoint note you kept yourself (repeatable)")
    keygen = commands.add_parser("keygen", help="create an Ed25519 checkpoint signing key")
    keygen.add_argument("name")
    keygen.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        return {"verify-receipt": _verify_receipt, "audit-export": _audit_export,
                "keygen": _keygen}[args.command](args)
    except (OSError, NoteError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
