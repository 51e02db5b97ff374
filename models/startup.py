"""Start-up: the one place that wires the packages together for an app.

`install(app)` registers every domain's event kinds with the sealing registry, the hooks
around each append, the indexes, refuses to run under keys the database does not know, and
schedules a reconcile of what a crash may have left pending. Registries are filled here,
explicitly, never as a side effect of importing a module.
"""
import logging
import threading

from models.care import (admission_seals, admissions, appointment_events, appointments,
                         doctor_directory, holds, schedules)
from models.clinical import audit_trail, pharmacy, records
from models.consent import emergency
from models.consent import workflow as consent
from models.core.errors import Conflict
from models.exchange import export_log
from models.notify import events as notify_events
from models.notify import inbox as notify_inbox
from models.people import (account_events, accounts, api_tokens, directory, organizations,
                           two_factor, two_factor_events, users, verification)
from models.research import consent as research_consent
from models.research import exports as research_exports
from models.research import studies
from models.sealing import (activity, audit_jobs, checkpoints, explorer, reconcile, registry, seam,
                            trust, witnesses)
from models.storage import authority, keys, schema
from models.storage import db as storage

DOMAINS = (users, accounts, organizations, account_events, api_tokens, two_factor,
           two_factor_events, directory, verification, consent, emergency, records, audit_trail,
           pharmacy, trust, doctor_directory, admissions, admission_seals, holds, schedules,
           appointments, appointment_events, export_log, studies, research_consent,
           research_exports)
"""Modules that declare indexes (`INDEXES`), event kinds (`EVENTS`), coverage checks
(`COVERAGE`) or authenticated collections (`AUTHORITY`)."""
SEALING_TABLES = (explorer, activity, audit_jobs, witnesses)
"""Sealing modules with collections of their own."""
NOTIFY_TABLES = (notify_inbox,)
"""Notification modules with collections of their own (they declare no event kinds)."""
log = logging.getLogger(__name__)
_schedule_lock = threading.Lock()


def register_events():
    """Fill the sealing registry and the list of authenticated collections from the domains
    (idempotent)."""
    for module in DOMAINS:
        registry.declare(getattr(module, "EVENTS", ()), getattr(module, "COVERAGE", ()))
        authority.declare(*getattr(module, "AUTHORITY", ()))


def declared_indexes():
    """Every index the app needs: the modules' own, and one per sealing height."""
    register_events()
    return schema.merge(*(getattr(module, "INDEXES", {})
                          for module in DOMAINS + SEALING_TABLES + NOTIFY_TABLES),
                        registry.height_indexes())


def ensure_indexes(db):
    schema.ensure_indexes(db, declared_indexes())
    seam.store_for(db).ensure_indexes()


def install_hooks(app):
    """What runs around each append: the crash rehearsal before it (testing apps only), the
    day counter and the checkpoint cadence after it; notifications once a change is sealed."""
    hooks = seam.hooks(app)
    if app.testing and reconcile.crash_if_injected not in hooks.before_append:
        hooks.before_append.append(reconcile.crash_if_injected)
    afters = (activity.after_seal, checkpoints.after_seal)
    if app.testing:
        afters = (reconcile.crash_after_append_if_injected,) + afters
    for after in afters:
        if after not in hooks.after_seal:
            hooks.after_seal.append(after)
    if notify_events.on_change not in hooks.after_change:
        hooks.after_change.append(notify_events.on_change)


def install(app):
    """Registries, hooks, indexes and key checks: refuse to run under the wrong keys."""
    register_events()
    install_hooks(app)
    with app.app_context():
        db = storage.get_db(app)
        ensure_indexes(db)
        data_key = keys.load_data_key(app)
        ledger_key = keys.load_ledger_key(app)
        authority_keys = keys.load_authority_keys(app)
        keys.check_fingerprints(db, data_key, ledger_key,
                                keys.data_key_path(app), keys.ledger_key_path(app),
                                authority_keys, keys.authority_key_path(app))
        # register_events: what a worker process of a parallel audit runs to know the kinds.
        app.extensions.setdefault("medledger", {}).update(
            data_key=data_key, ledger_key=ledger_key, authority_keys=authority_keys,
            register_events=register_events)
        authority.install(authority_keys)
        directory.ensure_keys(db)  # once per key format: accounts written before name search
        witnesses.configured(app)  # a malformed LEDGER_WITNESSES stops the app here
    if app.config.get("RECONCILE_AT_STARTUP"):
        app.before_request(lambda: _reconcile_once(app))


def _reconcile_once(app):
    """At the first request this process serves (never in a `flask` command), schedule the
    reconcile of what a crash may have left pending."""
    state = app.extensions["medledger"]
    if "reconcile_timer" not in state:
        with _schedule_lock:
            if "reconcile_timer" not in state:
                state["reconcile_timer"] = schedule_reconcile(app)


def schedule_reconcile(app, delay=None):
    """Finish what a crash left pending, once the grace period has passed (a change younger
    than that may still be in flight in another process), in the background."""
    delay = reconcile.GRACE_SECONDS if delay is None else delay
    timer = threading.Timer(delay, reconcile_pending, args=(app,))
    timer.daemon = True
    timer.start()
    return timer


def reconcile_pending(app):
    """One bounded reconcile: the pending markers only (indexed), never a pass over all data."""
    with app.app_context():
        try:
            findings = reconcile.reconcile(storage.get_db(app),
                                           app.extensions["medledger"]["data_key"], full=False)
        except Conflict:
            log.info("start-up reconcile skipped: another process is reconciling")
            return None
        except Exception:  # noqa: BLE001 - a background repair must never take the app down
            log.exception("start-up reconcile failed; run `flask ledger reconcile`")
            return None
    left = [finding for finding in findings if finding.for_a_person]
    if findings:
        log.warning("start-up reconcile: %d finished, %d left for a person",
                    len(findings) - len(left), len(left))
    return findings
