"""Medical records and everything built on them: versions, reading (decide, seal the read,
decrypt), the read log, pharmacy, receipts, the patient's export and demo records."""
