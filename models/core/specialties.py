"""Doctors' specialties: a fixed vocabulary, so that "cardio" finds every cardiologist.

A doctor's specialty is kept as its code on the account's profile (`profile.specialty`); the
label is what people read and search by. Nothing here touches the database.
"""
from models.core import names

SPECIALTIES = (
    ("general_practice", "General practice"), ("internal_medicine", "Internal medicine"),
    ("cardiology", "Cardiology"), ("dermatology", "Dermatology"),
    ("emergency_medicine", "Emergency medicine"), ("endocrinology", "Endocrinology"),
    ("gastroenterology", "Gastroenterology"), ("geriatrics", "Geriatrics"),
    ("gynecology", "Gynecology and obstetrics"), ("hematology", "Hematology"),
    ("infectious_disease", "Infectious diseases"), ("nephrology", "Nephrology"),
    ("neurology", "Neurology"), ("oncology", "Oncology"), ("ophthalmology", "Ophthalmology"),
    ("orthopedics", "Orthopedics"), ("otolaryngology", "Ear, nose and throat"),
    ("pediatrics", "Pediatrics"), ("psychiatry", "Psychiatry"), ("pulmonology", "Pulmonology"),
    ("radiology", "Radiology"), ("rheumatology", "Rheumatology"), ("surgery", "Surgery"),
    ("urology", "Urology"),
)
LABELS = dict(SPECIALTIES)


def label(code):
    return LABELS.get(code or "", "")


def matching(text):
    """Codes of the specialties whose label has a word starting with each word of `text`."""
    typed = names.words(text)
    if not typed:
        return []
    return [code for code, name in SPECIALTIES if names.matches(typed, name)]
