"""A person's notification settings: the e-mail address notifications are mailed to (the
patient's registration address, or one any account adds here) and whether to mail at all.

Both live in the account's `profile` (not an authority field: they decide nothing about
access). A patient keeps at least one way to be contacted, as at registration.
"""
from models.core.errors import InvalidInput
from models.people import patients, users


def settings(account):
    profile = (account or {}).get("profile") or {}
    return {"email": profile.get("email") or "",
            "email_notifications": profile.get("email_notifications") is not False}


def update(db, account, *, email, email_notifications):
    """Store the person's own address (validated, or none) and their choice; the settings."""
    try:
        cleaned = patients.clean_email(email)
    except InvalidInput as exc:
        raise InvalidInput("Check the highlighted fields.", {"email": exc.message}) from None
    profile = account.get("profile") or {}
    if account["role"] == users.PATIENT and not cleaned and not profile.get("phone"):
        problem = "Keep an e-mail address or a phone number (you registered without a phone)."
        raise InvalidInput(problem, {"email": problem})
    wanted = bool(email_notifications)
    db.users.update_one({"_id": account["_id"]}, {"$set": {
        "profile.email": cleaned, "profile.email_notifications": wanted}})
    return {"email": cleaned or "", "email_notifications": wanted}
