"""`flask ledger …`: verify (for cron), checkpoint, export, keygen, rotate-key, reconcile, recount."""
import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup
from ledger.export import export
from ledger.notes import SigningKey

from models import startup
from models.core.errors import DomainError
from models.sealing import (activity, audit_jobs, checkpoints, incremental_audit, parallel_audit,
                            reconcile, trust, witnesses)
from models.sealing.seam import store_for
from models.storage import authority
from models.storage.db import get_db

ledger_cli = AppGroup("ledger", help="Verify, checkpoint, export and repair the ledger.")


@ledger_cli.command("verify")
@click.option("--held", "held", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A checkpoint note kept outside the system (repeatable).")
@click.option("--quiet", is_flag=True, help="Print problems only, no verdict line.")
@click.option("--since-last", "since_last", is_flag=True,
              help="Check only the blocks after the last audited checkpoint (for cron); the "
                   "full audit runs instead when there is none that verifies.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="The full audit on N processes: each checks the structure, block codes "
                   "and contents of a height range; on any finding the one-process audit "
                   "names the problems.")
def verify_command(held, quiet, workers, since_last):
    """Full audit; exit 0 only when the chain is sound, one line per problem."""
    notes = []
    for path in held:
        with open(path, encoding="utf-8", newline="") as handle:
            notes.append(handle.read())
    if since_last and workers:
        raise click.UsageError("--since-last and --workers are separate audits; pick one.")
    if since_last:
        report = incremental_audit.run_since_last(get_db(), current_app, notes,
                                                  full_audit=audit_jobs.run_audit)
    elif workers:
        report = parallel_audit.run(get_db(), current_app, workers, held_checkpoints=notes,
                                    register=startup.register_events,
                                    full_audit=audit_jobs.run_audit)
    else:
        report = audit_jobs.run_audit(get_db(), current_app, held_checkpoints=notes)
    for line in report.lines():
        click.echo(line)
    if not quiet:
        click.echo(report.verdict())
    sys.exit(0 if report.ok else 1)


@ledger_cli.command("checkpoint")
def checkpoint_command():
    """Sign the current chain now and print the checkpoint note (keep a copy elsewhere)."""
    doc = checkpoints.create(get_db())
    click.echo(doc["note"], nl=False)


@ledger_cli.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
def export_command(directory):
    """Blocks, checkpoints and public keys in DIRECTORY for `python -m ledger audit-export`."""
    manifest = export(store_for(get_db()), directory)
    pubkey, trust_path = _write_public_keys(directory)
    click.echo(f"Exported {manifest['blocks']} blocks and {len(manifest['checkpoints'])} "
               f"checkpoints to {directory}.")
    command = f"python -m ledger audit-export {directory} --pubkey {pubkey}"
    witnessed = witnesses.cosigned_note(get_db(), -1)
    if witnessed is not None:
        path = os.path.join(directory, "witnessed.note")
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(witnessed)
        command += f" --checkpoint {path}"
        click.echo(f"The newest checkpoint the witnesses cosigned is {path}.")
    click.echo("Check it offline: " + command + (f" --trust {trust_path}" if trust_path else ""))


def _write_public_keys(directory):
    """The current public key, and the trust file after a rotation, beside the export."""
    pubkey = os.path.join(directory, "ledger.pub")
    trust.signing_key().public().save(pubkey)
    found = trust.trust_file()
    if found is None:
        return pubkey, None
    path = os.path.join(directory, "ledger-trust.json")
    found.save(path)
    return pubkey, path


@ledger_cli.command("keygen")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Where to write the private key (mode 0600); the public key goes to OUT.pub.")
def keygen_command(out):
    """Create a new Ed25519 signing key file (e.g. to hand to `rotate-key --new-key`)."""
    if os.path.exists(out) or os.path.exists(out + ".pub"):
        raise click.ClickException(f"refusing to overwrite {out}")
    key = SigningKey.generate(trust.signing_key().name)
    key.save(out)
    key.public().save(out + ".pub")
    click.echo(f"Private key: {out} (mode 0600; never store it in MongoDB)")
    click.echo(f"Verifier key: {key.public()}")
    click.echo(f"Fingerprint: {key.public().fingerprint}")


@ledger_cli.command("rotate-key")
@click.option("--new-key", type=click.Path(exists=True, dir_okay=False),
              help="A key made with `flask ledger keygen` (default: generate one).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def rotate_key_command(new_key, yes):
    """Replace the signing key; the new key is announced on the chain, signed by the old one."""
    if not yes:
        click.confirm("Rotate the ledger signing key? Restart every app process afterwards.",
                      abort=True)
    key = SigningKey.load(new_key) if new_key else None
    block, note, key = trust.rotate(get_db(), current_app, key)
    click.echo(f"New key {key.key_id.hex()} announced at height {block['height']}; trusted "
               f"from size {block['height'] + 1}. Trust file: {trust.trust_file_path()}")
    click.echo(f"Fingerprint: {key.public().fingerprint}")
    click.echo("Restart the app processes so they sign with the new key.")
    if new_key:
        click.echo(f"The key was copied into place; delete {new_key} once you have a backup.")


@ledger_cli.command("recount")
def recount_command():
    """Rebuild the auditor's blocks-per-day chart from the chain (after a bulk load)."""
    click.echo(f"Counted {activity.recount(get_db())} blocks by day and kind.")


@ledger_cli.command("reconcile")
@click.option("--dry-run", is_flag=True, help="Report only; seal, link or roll back nothing.")
@click.option("--grace", default=reconcile.GRACE_SECONDS, show_default=True,
              type=click.IntRange(0, 86_400),
              help="Leave changes younger than this many seconds alone (their request may "
                   "still be running); 0 when the app is stopped.")
def reconcile_command(dry_run, grace):
    """After a crash: finish every change left without its block (seal it, link the block
    appended before the crash, or roll back an incomplete one); report what only a person can
    repair (tampering, blocks whose document is gone)."""
    data_key = current_app.extensions["medledger"]["data_key"]
    try:
        findings = reconcile.reconcile(get_db(), data_key, fix=not dry_run, grace=grace)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    for finding in findings:
        click.echo(finding.line())
    unresolved = [f for f in findings if f.for_a_person or f.action.startswith("would")]
    click.echo(f"{len(findings)} finding(s), {len(findings) - len(unresolved)} resolved, "
               f"{len(unresolved)} left for a person.")
    sys.exit(1 if unresolved else 0)


@ledger_cli.command("adopt")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def adopt_command(yes):
    """Once, after upgrading a database written before authority codes: give every document
    that decides who may do what, and every block, the app's authentication code. Run
    `flask ledger verify` first: whatever is there now is vouched for."""
    if not yes:
        click.confirm("Vouch for every document and block without a code as it is now?",
                      abort=True)
    db = get_db()
    for collection, (adopted, failing) in authority.adopt(db).items():
        click.echo(f"{collection}: {adopted} adopted" + (f", {failing} FAIL their code"
                                                          if failing else ""))
    store, adopted = store_for(db), 0
    for block in store.iter_blocks(0, None):
        if not block.get("mac"):
            store.blocks.update_one({"_id": block["_id"], "mac": None}, {"$set": {
                "mac": authority.block_mac(block["hash"])}})
            adopted += 1
    click.echo(f"ledger_blocks: {adopted} adopted")


def register(app):
    app.cli.add_command(ledger_cli)
