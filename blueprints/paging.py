"""The keyset cursor of a paged list, read from the query string (`?before=<height>`)."""
from flask import request

from models.core.errors import InvalidInput


def cursor(name="before"):
    """None for the first page; a non-negative integer for a later one; anything else is a
    400 naming the parameter (a hand-edited link, never a crash nor a silent first page)."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 15:
        raise InvalidInput(f"The page link is not valid ({name} must be a whole number).")
    return int(text)
