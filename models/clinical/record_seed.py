"""Demo medical records in bulk (`flask seed-demo --records N`), sealed like real ones.

Writing 100,000 records one request at a time would take many minutes, so records are built
in batches: values drawn from realistic ranges and cleaned by the same record types as any
form, payloads encrypted, and their `record.created` blocks built with the ledger's own block
functions and bulk-inserted in height order before the records that point at them. A second
run creates only what is missing (a counter in `meta` remembers how many were made).
"""
import random
from datetime import date, timedelta

from ledger.attributes import attribute_leaf_hashes, attribute_root, new_salt
from ledger.block import ZERO_HASH, make_block, make_header

from models.clinical import records
from models.core import record_types
from models.core.clock import now_ms
from models.core.transitions import next_in_sequence
from models.sealing.seam import store_for
from models.storage import authority, crypto

BATCH = 2000
META_ID = "seed-records"
TYPE_WEIGHTS = (("general", 30), ("diagnosis", 15), ("prescription", 20), ("lab_report", 10),
                ("imaging", 5), ("allergy", 5), ("immunization", 10), ("note", 5))
DIAGNOSES = (("E11.9", "Type 2 diabetes mellitus without complications"),
             ("I10", "Essential (primary) hypertension"), ("J45.909", "Unspecified asthma"),
             ("M54.5", "Low back pain"), ("K21.9", "Gastro-oesophageal reflux disease"),
             ("F41.1", "Generalized anxiety disorder"), ("E78.5", "Hyperlipidaemia"),
             ("J06.9", "Acute upper respiratory infection"))
MEDICATIONS = (("Metformin", "500 mg", "1 tablet", "twice a day"),
               ("Amlodipine", "5 mg", "1 tablet", "once a day"),
               ("Salbutamol", "100 mcg", "2 puffs", "as needed, up to 4 times a day"),
               ("Omeprazole", "20 mg", "1 capsule", "once a day before breakfast"),
               ("Atorvastatin", "20 mg", "1 tablet", "once a day at night"),
               ("Amoxicillin", "500 mg", "1 capsule", "three times a day"),
               ("Ibuprofen", "400 mg", "1 tablet", "every 8 hours with food"))
LAB_TESTS = (("HbA1c", "HbA1c 6.8 % (48 mmol/mol)", "Above target; review therapy"),
             ("Lipid panel", "LDL 3.1 mmol/L, HDL 1.2 mmol/L, TG 1.6 mmol/L", "Borderline LDL"),
             ("Full blood count", "Hb 13.9 g/dL, WBC 6.2 x10^9/L, Plt 245 x10^9/L", "Normal"),
             ("TSH", "TSH 2.1 mIU/L", "Normal thyroid function"))
IMAGING = (("xray", "Chest", "No focal consolidation", "Normal chest radiograph"),
           ("ultrasound", "Abdomen", "Liver of normal size and echotexture", "Unremarkable"),
           ("mri", "Lumbar spine", "Mild L4-L5 disc bulge", "Degenerative change"))
ALLERGENS = (("Penicillin", "medication", "Rash", "moderate"), ("Peanut", "food", "Swelling", "severe"),
             ("House dust mite", "environment", "Rhinitis", "mild"))
VACCINES = ("Influenza", "Tetanus-diphtheria", "Hepatitis B", "MMR", "COVID-19")
BLOOD_GROUPS = ((("O", "+"), 38), (("A", "+"), 34), (("B", "+"), 9), (("AB", "+"), 3),
                (("O", "-"), 7), (("A", "-"), 6), (("B", "-"), 2), (("AB", "-"), 1))
"""(ABO, Rh) with rough population weights (per cent)."""
NOTES = (("Follow-up visit", "Symptoms improving. Continue current plan; review in 3 months."),
         ("Telephone consultation", "Discussed results; no change to medication."))


def _day(rng, years=5):
    return (date.today() - timedelta(days=rng.randint(1, 365 * years))).isoformat()


def patient_profile(patient_id):
    """What does not change between one patient's visits: their blood group, height and usual
    weight. Drawn from the patient id (not the batch's generator), so every general record of a
    patient agrees, in any batch and on any run."""
    rng = random.Random(f"demo-profile:{patient_id}")
    (abo, rh), = rng.choices([group for group, _ in BLOOD_GROUPS],
                             [weight for _, weight in BLOOD_GROUPS])
    return {"blood_group_abo": abo, "blood_group_rh": rh, "height_cm": rng.randint(150, 195),
            "weight_kg": rng.randint(48, 115)}


def demo_values(type_name, rng, patient_id=""):
    """One realistic submission for a record type (as a form would send it) for a patient."""
    if type_name == "general":
        profile = patient_profile(patient_id)
        systolic = rng.randint(100, 160)
        tenths = rng.randint(361, 379)
        weight = profile["weight_kg"] + rng.randint(-3, 3)
        return {"weight_kg": f"{weight}.{rng.randint(0, 9)}",
                "height_cm": f"{profile['height_cm']}.0",
                "blood_group_abo": profile["blood_group_abo"],
                "blood_group_rh": profile["blood_group_rh"],
                "systolic_mmhg": str(systolic), "diastolic_mmhg": str(rng.randint(60, systolic - 25)),
                "heart_rate_bpm": str(rng.randint(52, 100)),
                "temperature_c": f"{tenths // 10}.{tenths % 10}",
                "spo2_percent": str(rng.randint(94, 100))}
    if type_name == "diagnosis":
        code, description = rng.choice(DIAGNOSES)
        return {"code": code, "description": description,
                "clinical_status": rng.choice(("active", "resolved", "remission")), "onset": _day(rng)}
    if type_name == "prescription":
        medication, strength, dose, frequency = rng.choice(MEDICATIONS)
        return {"medication": medication, "strength": strength, "dose": dose, "route": "oral",
                "frequency": frequency, "duration_days": str(rng.choice((7, 14, 30, 90))),
                "quantity": str(rng.choice((14, 28, 30, 60))), "refills": str(rng.randint(0, 3)),
                "instructions": "Take as directed."}
    if type_name == "lab_report":
        test, results, conclusion = rng.choice(LAB_TESTS)
        return {"test_name": test, "collected_on": _day(rng, 2), "results": results,
                "conclusion": conclusion}
    if type_name == "imaging":
        modality, site, findings, conclusion = rng.choice(IMAGING)
        return {"modality": modality, "body_site": site, "performed_on": _day(rng, 3),
                "findings": findings, "conclusion": conclusion}
    if type_name == "allergy":
        substance, category, reaction, severity = rng.choice(ALLERGENS)
        return {"substance": substance, "category": category, "reaction": reaction,
                "severity": severity, "onset": _day(rng, 20)}
    if type_name == "immunization":
        return {"vaccine": rng.choice(VACCINES), "dose_number": str(rng.randint(1, 3)),
                "administered_on": _day(rng, 10), "lot_number": f"LOT{rng.randint(10000, 99999)}",
                "site": rng.choice(("left_arm", "right_arm"))}
    title, text = rng.choice(NOTES)
    return {"title": title, "text": text}


def _plan(patient_ids, count, rng):
    """(patient id, type) for `count` records spread over the patients."""
    names = [name for name, _ in TYPE_WEIGHTS]
    weights = [weight for _, weight in TYPE_WEIGHTS]
    types = rng.choices(names, weights, k=count)
    # consecutive records go to the same patient, so a batch reserves few counters
    return [(patient_ids[i * len(patient_ids) // count], types[i]) for i in range(count)]


def _reserve_numbers(db, plan):
    """Per-patient record numbers: one counter update per patient in the batch."""
    wanted = {}
    for patient_id, _ in plan:
        wanted[patient_id] = wanted.get(patient_id, 0) + 1
    return {patient_id: next_in_sequence(db.record_counters, patient_id, k)
            for patient_id, k in wanted.items()}


def _tip(store):
    height = store.tip_hint()
    doc = store.get_block(height) if height >= 0 else None
    while True:
        following = store.get_block((doc["height"] if doc else -1) + 1)
        if following is None:
            return doc
        doc = following


def _batch(db, key, store, plan, doctors, rng, tip):
    numbers = _reserve_numbers(db, plan)
    height = tip["height"] + 1 if tip else 0
    prev = tip["hash"] if tip else ZERO_HASH
    docs, blocks = [], []
    for patient_id, type_name in plan:
        doctor = rng.choice(doctors)
        record_id = f"{patient_id}-R{numbers[patient_id]}"
        numbers[patient_id] += 1
        data = record_types.TYPES[type_name].clean(demo_values(type_name, rng, patient_id))
        doc = {"record_id": record_id, "version": 1, "patient_id": patient_id, "type": type_name,
               "author_id": doctor["human_id"], "author_role": doctor["role"],
               "author_name": doctor["name"], "org_id": doctor.get("org_id"),
               "created_at": now_ms(), "status": records.FINAL,
               "sensitivity": records.NORMAL, "supersedes": None, "superseded_by": None,
               "attachments": [], "rx_status": records.RX_ACTIVE if type_name == "prescription" else None,
               "sealed_height": height}
        attributes = records.sealed_attributes(doc, data)
        salts = {name: new_salt() for name in attributes}
        doc["box"] = crypto.encrypt(key, record_id, 1, {"data": data, "salts": salts})
        leaves = attribute_leaf_hashes(attributes, salts)
        header = make_header(height=height, prev_hash=prev, timestamp=doc["created_at"],
                             kind=records.CREATED, subject={"record": record_id, "version": 1},
                             actor=doctor["actor"], attr_root=attribute_root(leaves).hex(),
                             attr_count=len(leaves))
        block = make_block(header, leaves)
        block["mac"] = authority.block_mac(block["hash"])
        blocks.append(block)
        docs.append(doc)
        prev, height = block["hash"], height + 1
    store.insert_blocks(blocks)
    store.set_tip_hint(blocks[-1]["height"])
    db.records.insert_many([authority.stamp("records", doc) for doc in docs], ordered=False)
    return blocks[-1]


def seed(db, key, *, doctors, patient_ids, count, progress=None, seed_value=4):
    """Create up to `count` demo records in total (fewer if some exist); returns how many now."""
    if not doctors or not patient_ids or count <= 0:
        return 0
    done = (db.meta.find_one({"_id": META_ID}) or {}).get("n", 0)
    missing = max(0, count - done)
    rng = random.Random(seed_value + done)
    store = store_for(db)
    tip = _tip(store)
    plan = _plan(list(patient_ids), missing, rng)
    for start in range(0, len(plan), BATCH):
        chunk = plan[start:start + BATCH]
        tip = _batch(db, key, store, chunk, doctors, rng, tip)
        db.meta.update_one({"_id": META_ID}, {"$inc": {"n": len(chunk)}}, upsert=True)
        if progress:
            progress.update(len(chunk))
    return missing

