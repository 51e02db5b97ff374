"""`python -m ledger`: the auditor's tools, needing no database and no app.

    python -m ledger verify-receipt RECEIPT --pubkey KEYFILE [--witness W.pub ... --require N]
    python -m ledger audit-export DIR --pubkey KEYFILE [--trust TRUSTFILE] [--checkpoint NOTE ...]
    python -m ledger keygen NAME --out PATH                       PATH (0600) and PATH.pub
    python -m ledger witness-key NAME --out PATH                  a witness's key and PATH.pub
    python -m ledger witness --key PATH --state FILE --log LOG.pub [--host H --port P]
"""
import argparse
import os
import sys

from ledger.export import audit_export
from ledger.notes import NoteError, SigningKey, TrustEntry, TrustFile, VerifierKey
from ledger.receipt import verify_receipt
from ledger.strict import NOT_JSON, read_json
from ledger.witness import CosignerKey, Witness, count_cosignatures, serve


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
    with open(args.receipt, "rb") as f:
        receipt, error = read_json(f.read())
    if error is not None:  # the same reading verify_receipt gives bytes, kept for the witnesses
        print(f"INVALID: not JSON: {error.reason}" if error.kind == NOT_JSON
              else f"INVALID: {error}")
        return 1
    ok, reason = verify_receipt(receipt, _verifiers(args))
    witnesses = [_cosigner(path) for path in args.witness or ()]
    required = args.require if args.require is not None else (1 if witnesses else 0)
    if ok and required:
        cosigned = count_cosignatures(receipt.get("checkpoint", ""), witnesses) \
            if isinstance(receipt.get("checkpoint"), str) else []
        if len(cosigned) < required:
            ok, reason = False, (f"the checkpoint carries {len(cosigned)} cosignature(s) from "
                                 f"the witnesses given, {required} required")
        else:
            reason += f"; cosigned by {', '.join(key.name for key in cosigned)}"
    print(("VALID: " if ok else "INVALID: ") + reason)
    return 0 if ok else 1


def _cosigner(path):
    with open(path, encoding="utf-8") as handle:
        return CosignerKey.parse(handle.read())


def _new_key(out, name):
    """A fresh signing key saved at `out` (None if `out` or its .pub already exists)."""
    if os.path.exists(out) or os.path.exists(out + ".pub"):
        print(f"refusing to overwrite {out}", file=sys.stderr)
        return None
    key = SigningKey.generate(name)
    key.save(out)
    return key


def _witness_key(args) -> int:
    key = _new_key(args.out, args.name)
    if key is None:
        return 2
    public = CosignerKey(key.name, key.public().public_key)
    with open(args.out + ".pub", "w", encoding="utf-8") as handle:
        handle.write(f"{public}\n")
    print(f"private key: {args.out} (mode 0600; keep it on the witness's machine)")
    print(f"cosigner key: {public}  (give this to the log and to receipt verifiers)")
    return 0


def _witness(args) -> int:
    logs = {}
    for path in args.log:
        key = VerifierKey.load(path)
        logs.setdefault(key.name, []).append(key)
    witness = Witness(SigningKey.load(args.key), args.state, logs)
    print(f"witness {witness.cosigner.public} for {', '.join(sorted(logs))} on "
          f"http://{args.host}:{args.port}/add-checkpoint", flush=True)
    serve(witness, args.host, args.port)
    return 0


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
    key = _new_key(args.out, args.name)
    if key is None:
        return 2
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
    receipt.add_argument("--witness", action="append",
                         help="a witness's cosigner key file (repeatable)")
    receipt.add_argument("--require", type=int,
                         help="how many of those witnesses must have cosigned (default 1 if "
                              "any --witness is given)")
    export = commands.add_parser("audit-export", help="audit an export directory offline")
    export.add_argument("directory")
    export.add_argument("--pubkey", action="append", help="verifier key file (repeatable)")
    export.add_argument("--trust", help="trust file: keys with the sizes they may sign")
    export.add_argument("--checkpoint", action="append",
                        help="a checkpoint note you kept yourself (repeatable)")
    keygen = commands.add_parser("keygen", help="create an Ed25519 checkpoint signing key")
    keygen.add_argument("name")
    keygen.add_argument("--out", required=True)
    witness_key = commands.add_parser("witness-key", help="create a witness's Ed25519 key")
    witness_key.add_argument("name", help="the witness's name, e.g. witness.example.org/w1")
    witness_key.add_argument("--out", required=True)
    witness = commands.add_parser("witness", help="run a witness (C2SP tlog-witness)")
    witness.add_argument("--key", required=True, help="the witness's private key file")
    witness.add_argument("--state", required=True, help="its state file (created if missing)")
    witness.add_argument("--log", action="append", required=True,
                         help="a log's public key file (its name is the log's origin)")
    witness.add_argument("--host", default="127.0.0.1")
    witness.add_argument("--port", type=int, default=8099)
    args = parser.parse_args(argv)
    try:
        return {"verify-receipt": _verify_receipt, "audit-export": _audit_export,
                "keygen": _keygen, "witness-key": _witness_key,
                "witness": _witness}[args.command](args)
    except (OSError, NoteError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
