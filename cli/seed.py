"""`flask seed-demo`: a realistic demo installation, safe to run again.

Everything is keyed on usernames (and organization names), so a second run creates nothing
new and finishes what an interrupted run left half done (e.g. a doctor not yet verified).
Every demo account shares one printed password, hashed once with bcrypt: fine for demo data,
never for real accounts.
"""
import random
import unicodedata
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

from models.care import appointment_seed, doctor_directory
from models.clinical import record_seed
from models.people import accounts, organizations, patients, users, verification
from models.research import consent as research_consent
from models.research import studies
from models.sealing import activity, checkpoints, seam
from models.storage.db import get_db

DEMO_PASSWORD = "medledger-demo-password"
SEEDED_BY = "seed-demo"
PATIENT_BATCH = 1000

ADMIN = ("admin", "Dana Whitfield")
AUDITOR = ("auditor", "Iris Bauer")
ORGANIZATIONS = (  # name, kind, manager username, manager name
    ("St. Mary's General Hospital", organizations.HOSPITAL, "manager.stmarys", "Helen Carter"),
    ("Riverside University Hospital", organizations.HOSPITAL, "manager.riverside", "Omar Haddad"),
    ("Central Pharmacy", organizations.PHARMACY, "manager.pharmacy", "Grace Liu"),
    ("Northside Diagnostics Lab", organizations.LAB, "manager.lab", "Pavel Novak"),
    ("Lakeside Research Institute", organizations.RESEARCH, "manager.research", "Ruth Adeyemi"),
)
HOSPITALS = ("St. Mary's General Hospital", "Riverside University Hospital")
STAFF = (  # role, username, name, organization
    (users.PHARMACIST, "pharm.wilson", "Nora Wilson", "Central Pharmacy"),
    (users.LAB_TECH, "lab.mendes", "Luis Mendes", "Northside Diagnostics Lab"),
    (users.RESEARCHER, "research.khan", "Samir Khan", "Lakeside Research Institute"),
)
RESEARCH_STUDY = dict(
    title="Blood pressure in type 2 diabetes", ethics_ref="DEMO-IRB-2026-001",
    purpose="How systolic pressure bands are distributed across diabetes and hypertension "
            "diagnosis groups, by age band and sex.",
    fields=["age_band", "sex", "zip3", "year_of_diagnosis", "diagnosis_group", "systolic_band"],
    record_types_chosen=["diagnosis", "general"], year_from=2018, diagnosis_prefixes="E11, I10",
    k=5, max_suppression=10)
RESEARCHER = "research.khan"
RESEARCH_OPT_IN_EVERY, RESEARCH_OPT_IN_UPTO = 3, 60
"""Every third of the first 60 demo patients opts into all research (one sealed block each)."""
DOCTOR_NAMES = ("Amelia Brooks", "Rafael Ortega", "Priya Raman", "Jonas Weber", "Fatima Idrissi",
                "Kenji Sato", "Sofia Lindqvist", "Daniel Okafor", "Mei Chen", "Lucas Moreau")
DOCTOR_SPECIALTIES = ("general_practice", "cardiology", "pediatrics", "orthopedics", "dermatology",
                      "neurology", "gynecology", "internal_medicine", "oncology", "psychiatry")
"""What patients find the demo doctors by when they share (aligned with DOCTOR_NAMES)."""
FIRST_NAMES = ("Olivia", "Noah", "Emma", "Liam", "Ava", "Mateo", "Zoe", "Elijah", "Chloé", "Arjun",
               "Hannah", "Yusuf", "Maya", "Leo", "Aisha", "Tomás", "Ingrid", "Kwame", "Sara", "Ivan")
LAST_NAMES = ("Smith", "García", "Müller", "Rossi", "Nguyen", "Kowalski", "O'Brien", "Silva",
              "Haddad", "Andersen", "Tanaka", "Dubois", "Patel", "Jensen", "Mensah", "Novak")
SEXES = ("female", "male", "female", "male", "other", "unknown")
DEPARTMENTS = {"general_practice": "Outpatient clinic", "cardiology": "Cardiology, 3rd floor",
               "pediatrics": "Children's ward", "orthopedics": "Orthopedics and trauma",
               "dermatology": "Dermatology outpatients", "neurology": "Neurology ward",
               "gynecology": "Maternity unit", "internal_medicine": "Medical ward B",
               "oncology": "Oncology day unit", "psychiatry": "Psychiatry outpatients"}
EVERY_DAY = range(7)


def demo_on_call(index):
    """Demo on-call windows: the first doctor covers every day, the second every night, so the
    directory shows someone "On call now" at any hour; the others take one day and one night."""
    if index == 0:
        return [(str(day), "08:00", "20:00") for day in EVERY_DAY]
    if index == 1:
        return [(str(day), "20:00", "08:00") for day in EVERY_DAY]
    return [(str(index % 7), "08:00", "16:00"), (str((index + 3) % 7), "22:00", "06:00")]


def demo_directory_entry(index, doctor, org_name):
    """The directory entry of demo doctor `index` (work contact and on-call hours)."""
    domain = slug(org_name) + ".example"
    specialty = (doctor.get("profile") or {}).get("specialty")
    return {"department": DEPARTMENTS.get(specialty, "Outpatient clinic"),
            "phone": f"+1 555 01{index % 100:02d}", "extension": f"{4000 + index}",
            "email": f"{doctor['username'].replace('dr.', '')}@{domain}",
            "windows": demo_on_call(index)}


def slug(text):
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def doctor_identity(index):
    """(username, name) of demo doctor `index`: the same on every run."""
    name = DOCTOR_NAMES[index % len(DOCTOR_NAMES)]
    username = f"dr.{slug(name.split()[-1])}"
    if index >= len(DOCTOR_NAMES):
        username += str(index + 1)
    return username, name


def patient_username(index):
    return f"patient{index + 1:05d}"


DEMO_ZIPS = ("02139", "02144", "10001", "10025", "60614", "60657", "94110", "94117", "98103",
             "30307", "03601", "55616", "89301")
"""US ZIP codes for the demo patients (research exports use their ZIP3): mostly a few towns,
so the k-anonymity gate has classes to work with, and three in low-population ZIP3s (036,
556, 893) that a research export maps to 000."""


def demo_patient(index, today):
    """The details of demo patient `index`, deterministic so re-runs key on the same names."""
    rng = random.Random(index)
    username = patient_username(index)
    born = today - timedelta(days=rng.randint(1 * 365, 95 * 365))
    with_phone = rng.random() < 0.6
    return {
        "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        "username": username,
        "date_of_birth": born.isoformat(),
        "sex": rng.choice(SEXES),
        "email": f"{username}@example.org" if not with_phone or rng.random() < 0.5 else None,
        "phone": f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}" if with_phone else None,
        "postcode": rng.choice(DEMO_ZIPS),
    }


def demo_licence_pdf(doctor):
    """A one-page PDF saying this is a demo licence (what an admin downloads in the demo)."""
    text = f"DEMO medical licence - {doctor['name']} ({doctor['human_id']}) - not a real document"
    text = text.encode("ascii", "replace").decode().replace("\\", "").replace("(", "[").replace(")", "]")
    stream = f"BT /F1 14 Tf 56 760 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


class Seeder:
    """Creates what is missing and counts it, so the summary says what this run did."""

    def __init__(self, db, password_hash, licence_limit):
        self.db = db
        self.password_hash = password_hash
        self.licence_limit = licence_limit
        self.created = {"organizations": 0, "accounts": 0, "patients": 0, "verified": 0,
                        "directory": 0}

    def account(self, username, role, name, **fields):
        existing = users.by_username(self.db, username)
        if existing:
            if existing["role"] != role:
                raise click.ClickException(
                    f"the username {username!r} is taken by a {existing['role']} account; "
                    "the demo needs it for a " + role)
            return existing
        self.created["accounts"] += 1
        return accounts.create_with_password_hash(self.db, self.password_hash, username=username,
                                                  role=role, name=name, created_by=SEEDED_BY,
                                                  **fields)

    def organization(self, name, kind):
        existing = organizations.by_name(self.db, name)
        if existing:
            return existing
        self.created["organizations"] += 1
        return organizations.create(self.db, name=name, kind=kind, created_by=SEEDED_BY)

    def verified_doctor(self, username, name, org, admin, specialty=None):
        """A doctor who went through the real licence flow: upload, approval, ledger block."""
        doctor = self.account(username, users.DOCTOR, name, org_id=org["human_id"], verified=False,
                              profile={"specialty": specialty} if specialty else None)
        state = doctor["verification"]["state"]
        if state in verification.UPLOADABLE:
            doctor = verification.submit_licence(self.db, doctor, demo_licence_pdf(doctor),
                                                 "licence.pdf", self.licence_limit)
            state = doctor["verification"]["state"]
        if state == verification.PENDING:
            doctor = verification.approve(self.db, doctor["human_id"], admin)
            self.created["verified"] += 1
        return doctor

    def directory_entry(self, index, doctor, org_name):
        """The doctor's first directory entry (sealed), unless they have one."""
        if doctor_directory.current_entry(self.db, doctor["human_id"]) is None:
            doctor_directory.update(self.db, editor=doctor, human_id=doctor["human_id"],
                                    raw=demo_directory_entry(index, doctor, org_name))
            self.created["directory"] += 1

    def patients(self, count, today, progress):
        """Bulk-insert the demo patients that do not exist yet, a batch at a time."""
        for start in range(0, count, PATIENT_BATCH):
            rows = [demo_patient(index, today) for index in range(start, min(start + PATIENT_BATCH, count))]
            taken = patients.usernames_between(self.db, rows[0]["username"], rows[-1]["username"])
            fresh = [patients.clean(today=today, **row) for row in rows if row["username"] not in taken]
            patients.insert_prepared(self.db, fresh, self.password_hash, SEEDED_BY)
            self.created["patients"] += len(fresh)
            progress.update(len(rows))


def seed_research(db, admin, patient_count):
    """An approved demo study by the demo researcher, and some patients opted in (once)."""
    researcher = users.by_username(db, RESEARCHER)
    if not studies.for_researcher(db, researcher["human_id"]):
        study = studies.register(db, researcher=researcher, year_to=date.today().year,
                                 **RESEARCH_STUDY)
        studies.approve(db, actor=admin, study_id=study["study_id"],
                        reason="Demo study: ethics approval reference checked.")
    for index in range(0, min(patient_count, RESEARCH_OPT_IN_UPTO), RESEARCH_OPT_IN_EVERY):
        patient = users.by_username(db, patient_username(index))
        if research_consent.current(db, patient["human_id"])["version"] == 0:
            research_consent.set_choice(db, patient=patient, choice=research_consent.ALL)


def seed_records(db, *, doctors, patient_usernames, count):
    """Demo medical records: `count` records by `doctors` (verified doctor documents) for the
    patients with these usernames; returns how many it created (a second run creates only
    what is missing)."""
    if not count or not doctors or not patient_usernames:
        return 0
    patient_ids = []
    for start in range(0, len(patient_usernames), PATIENT_BATCH):
        chunk = patient_usernames[start:start + PATIENT_BATCH]
        patient_ids += patients.human_ids_by_username(db, chunk)
    if not patient_ids:
        return 0
    with click.progressbar(length=count, label="Records") as bar:
        created = record_seed.seed(db, current_app.extensions["medledger"]["data_key"],
                                   doctors=doctors, patient_ids=sorted(patient_ids), count=count,
                                   progress=bar)
    seam.forget_cached_tip(current_app)
    return created


def seed_appointments(db, seeder, *, doctors, orgs, patient_usernames, count):
    """Demo schedules for `doctors` and `count` appointments with these patients, a front
    desk per hospital (desk.<n>) checking them in; how many appointments it created."""
    if not count or not doctors or not patient_usernames:
        return 0
    desks = {}
    for index, name in enumerate(HOSPITALS):
        org = orgs[name]
        desks[org["human_id"]] = seeder.account(f"desk.{index + 1}", users.FRONT_DESK,
                                                f"Front Desk {index + 1}", org_id=org["human_id"])
    people = []
    for start in range(0, len(patient_usernames), PATIENT_BATCH):
        found = patients.human_ids_by_username(db, patient_usernames[start:start + PATIENT_BATCH])
        people += db.users.find({"human_id": {"$in": list(found)}},
                                {"human_id": 1, "name": 1, "actor": 1, "role": 1})
    with click.progressbar(length=count, label="Appointments") as bar:
        created = appointment_seed.seed(db, doctors=doctors, patients=people, desks=desks,
                                        count=count, progress=bar,
                                        zone=ZoneInfo(current_app.config["TIMEZONE"]))
    seam.forget_cached_tip(current_app)
    return created


@click.command("seed-demo")
@click.option("--patients", "patient_count", default=30, show_default=True,
              type=click.IntRange(0, 1_000_000), help="Demo patients (bulk-inserted).")
@click.option("--doctors", "doctor_count", default=6, show_default=True,
              type=click.IntRange(0, 10_000), help="Verified demo doctors, split over two hospitals.")
@click.option("--records", "record_count", default=150, show_default=True,
              type=click.IntRange(0, 1_000_000), help="Demo medical records.")
@click.option("--appointments", "appointment_count", default=0, show_default=True,
              type=click.IntRange(0, 1_000_000),
              help="Demo appointments (with a weekday schedule per doctor, half a year back "
                   "and half a year ahead, and a front desk per hospital).")
@with_appcontext
def seed_demo_command(patient_count, doctor_count, record_count, appointment_count):
    """Create a demo installation (idempotent: running it twice creates nothing new)."""
    db = get_db()
    password_hash = users.hash_password(DEMO_PASSWORD, current_app.config["BCRYPT_ROUNDS"])
    seeder = Seeder(db, password_hash, current_app.config["MAX_ATTACHMENT_BYTES"])
    today = date.today()

    steps = 2 + 2 * len(ORGANIZATIONS) + len(STAFF) + doctor_count
    with click.progressbar(length=steps, label="Organizations and staff") as bar:
        admin = seeder.account(ADMIN[0], users.ADMIN, ADMIN[1])
        seeder.account(AUDITOR[0], users.AUDITOR, AUDITOR[1])
        bar.update(2)
        orgs = {}
        for name, kind, manager_username, manager_name in ORGANIZATIONS:
            orgs[name] = seeder.organization(name, kind)
            seeder.account(manager_username, users.ORG_MANAGER, manager_name,
                           org_id=orgs[name]["human_id"])
            bar.update(2)
        for role, username, name, org_name in STAFF:
            seeder.account(username, role, name, org_id=orgs[org_name]["human_id"])
            bar.update(1)
        doctors = []
        for index in range(doctor_count):
            username, name = doctor_identity(index)
            doctors.append(seeder.verified_doctor(
                username, name, orgs[HOSPITALS[index % 2]], admin,
                DOCTOR_SPECIALTIES[index % len(DOCTOR_SPECIALTIES)]))
            seeder.directory_entry(index, doctors[-1], HOSPITALS[index % 2])
            bar.update(1)

    with click.progressbar(length=patient_count, label="Patients") as bar:
        seeder.patients(patient_count, today, bar)

    records = seed_records(db, doctors=doctors, count=record_count,
                           patient_usernames=[patient_username(i) for i in range(patient_count)])
    seed_research(db, admin, patient_count)
    booked = seed_appointments(db, seeder, doctors=doctors, orgs=orgs, count=appointment_count,
                               patient_usernames=[patient_username(i)
                                                  for i in range(patient_count)])
    if records or booked:
        activity.recount(db)  # blocks were bulk-loaded without `seal`'s day counter
        # Sign the loaded chain now, so the first request that seals a block does not pay for
        # a checkpoint over every bulk-loaded block (later checkpoints resume from this one).
        with click.progressbar(length=1, label="Checkpoint") as bar:
            checkpoints.create(db)
            bar.update(1)
    _print_summary(db, seeder.created, records, record_count, doctor_count, patient_count)
    if appointment_count:
        click.echo(f"Created {booked} demo appointments (of {appointment_count} asked for).")


def _print_summary(db, created, records, record_count, doctor_count, patient_count):
    click.echo(f"Created {created['organizations']} organizations, {created['accounts']} staff "
               f"accounts and {created['patients']} patients; verified {created['verified']} "
               "doctors (one account.verified ledger block each); "
               f"{created['directory']} directory entries (one directory.updated block each).")
    if record_count:
        click.echo(f"Created {records} demo records (of {record_count} asked for; existing ones "
                   "are kept).")
    logins = [ADMIN[0], AUDITOR[0]] + [row[2] for row in ORGANIZATIONS] + [row[1] for row in STAFF]
    logins += [doctor_identity(i)[0] for i in range(min(doctor_count, 3))]
    logins += [patient_username(i) for i in range(min(patient_count, 3))]
    click.echo("\nDemo logins:")
    for username in logins:
        account = users.by_username(db, username)
        if account and account.get("created_by") == SEEDED_BY:
            click.echo(f"  {username:<20} {users.ROLE_LABELS[account['role']]:<22} "
                       f"{account['human_id']:<11} {account['name']}")
    click.echo(f"\nEvery demo account's password is: {DEMO_PASSWORD}")
    click.echo("(One bcrypt hash of it is shared by all demo accounts: acceptable for demo data, "
               "never for real accounts.)")


def register(app):
    app.cli.add_command(seed_demo_command)
