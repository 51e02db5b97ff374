"""Optional e-mail of new notifications through the hospital's SMTP relay.

Off unless `SMTP_HOST` is set. A new notification (not a read folded into an open one) is
mailed to its recipient's `profile.email`, unless they turned e-mail off
(`profile.email_notifications` false). The message says what the notification says — who did
what kind of thing, when — and nothing more: no clinical value, no record id, no note.

Sending happens in one daemon thread per process (like the witness pushes): a slow or
unreachable relay never holds up or fails a request. A failure is logged with the
notification's id, the recipient's human id and the error's class only (no address, no text).
"""
import atexit
import logging
import queue
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

from models.notify import text
from models.people import organizations, users

log = logging.getLogger(__name__)
SUBJECT_PREFIX = "MedLedger: "


@dataclass(frozen=True)
class Relay:
    host: str
    port: int = 25
    sender: str = "medledger@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0


def relay(app=None):
    """The configured relay, or None when e-mail is off."""
    config = (app or current_app).config
    if not config.get("SMTP_HOST"):
        return None
    return Relay(host=config["SMTP_HOST"], port=int(config.get("SMTP_PORT") or 25),
                 sender=config.get("SMTP_FROM") or "medledger@localhost",
                 starttls=bool(config.get("SMTP_STARTTLS")),
                 username=config.get("SMTP_USERNAME") or None,
                 password=config.get("SMTP_PASSWORD") or None,
                 timeout=float(config.get("SMTP_TIMEOUT") or 10))


def address_of(account):
    """Where this account's notifications are mailed, or None (no address, or turned off)."""
    profile = (account or {}).get("profile") or {}
    if profile.get("email_notifications") is False:
        return None
    return profile.get("email") or None


def compose(note, sender, address, org_names=None, link=None):
    """The message for one notification: its one sentence, when, and where to read it."""
    message = EmailMessage()
    message["From"], message["To"] = sender, address
    message["Subject"] = SUBJECT_PREFIX + text.KIND_LABELS.get(note.get("kind"), "Notification")
    message["Message-ID"] = make_msgid(domain="medledger.local")
    lines = [text.describe(_for_mail(note), org_names), "", f"When: {text.when(note.get('at'))}",
             "", "Sign in to MedLedger to see it" + (f": {link}" if link else ".")]
    lines += ["", "You receive this because your MedLedger account has this e-mail address;",
              "you can turn these messages off on the notifications page."]
    message.set_content("\n".join(lines) + "\n")
    return message


MAILED_ABOUT = ("request", "grant", "emergency")
MAILED_DETAIL = ("state", "purpose", "days", "asked_days", "shortened", "until")
"""What of a notification may be mailed: no record, record type, scope or patient id."""


def _for_mail(note):
    """The notification without record ids, record types, scopes or patient ids: e-mail may
    leave the hospital's network, so it names the people and the kind of event only."""
    about = {key: value for key, value in (note.get("about") or {}).items()
             if key in MAILED_ABOUT}
    detail = {key: value for key, value in (note.get("detail") or {}).items()
              if key in MAILED_DETAIL}
    return dict(note, records=[], about=about, detail=detail)


def send_for(db, notes, app=None):
    """Queue an e-mail for each new notification whose recipient has an address."""
    app = app or current_app
    server = relay(app)
    if server is None or not notes:
        return 0
    org_ids = [(note.get("actor") or {}).get("org") for note in notes]
    names = {org_id: org["name"] for org_id, org in organizations.by_human_ids(db, org_ids).items()}
    queued = 0
    for note in notes:
        address = address_of(users.by_human_id(db, note["recipient"]))
        if address:
            message = compose(note, server.sender, address, names,
                              app.config.get("NOTIFY_EMAIL_LINK") or None)
            outbox(app).submit(server, message, note["_id"], note["recipient"])
            queued += 1
    return queued


def deliver(server, message):
    """Hand one message to the relay (in the caller's thread)."""
    with smtplib.SMTP(server.host, server.port, timeout=server.timeout) as smtp:
        if server.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if server.username:
            smtp.login(server.username, server.password or "")
        smtp.send_message(message)


class Outbox:
    """A daemon thread per process that sends queued messages one after another."""

    def __init__(self):
        self.jobs = queue.Queue()
        self.sent = self.failed = 0
        self.thread = threading.Thread(target=self._loop, name="notify-mail", daemon=True)
        self.thread.start()
        atexit.register(self.drain)

    def submit(self, server, message, note_id, recipient):
        self.jobs.put((server, message, note_id, recipient))

    def _loop(self):
        while True:
            server, message, note_id, recipient = self.jobs.get()
            try:
                deliver(server, message)
                self.sent += 1
            except Exception as exc:  # noqa: BLE001 - never let one message stop the outbox
                self.failed += 1
                code = getattr(exc, "smtp_code", None)
                log.warning("notification e-mail %s for %s not sent: %s%s", note_id, recipient,
                            type(exc).__name__, f" (SMTP {code})" if code else "")
            finally:
                self.jobs.task_done()

    def drain(self, timeout=30.0):
        """Wait (bounded) for the queued messages, e.g. before a process exits or in tests."""
        deadline = time.monotonic() + timeout
        while self.jobs.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.jobs.unfinished_tasks


_outbox_lock = threading.Lock()


def outbox(app=None):
    """This process's outbox (started at the first message, so after any fork)."""
    app = app or current_app
    app = getattr(app, "_get_current_object", lambda: app)()
    with _outbox_lock:
        state = app.extensions.setdefault("medledger", {})
        if "notify_outbox" not in state:
            state["notify_outbox"] = Outbox()
    return state["notify_outbox"]
