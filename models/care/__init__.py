"""The hospital's everyday work around the records: doctors' schedules, appointments and
admissions. Nothing here grants access to a record: consent stays the patient's decision
(models.consent); a booked appointment or an admission only offers the doctor a request."""
