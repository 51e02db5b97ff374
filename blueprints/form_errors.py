"""The view side of a form: run the model, and put its domain error next to the fields."""
from models.core.errors import DomainError


def show_on_form(form, exc, fallback_field=None):
    """Attach `exc.field_errors` to the form's fields; the status to answer with.

    Messages for fields the form does not have go on `fallback_field` (or are flashed by the
    caller through the returned status page), so no message is ever silently dropped.
    """
    placed = False
    for name, message in exc.field_errors.items():
        field = getattr(form, name, None) or (getattr(form, fallback_field, None)
                                              if fallback_field else None)
        if field is not None:
            field.errors = list(field.errors) + [message]
            placed = True
    if not placed:
        form.form_errors.append(exc.message)
    return exc.status


def submitted(form, action, fallback_field=None):
    """The POST half of a form view: (what `action()` returned, 200) when the form validates
    and the model accepts it; (None, 400) for a form that does not validate; (None, status)
    with the model's messages on the form's fields when the model refuses."""
    if not form.validate_on_submit():
        return None, 400
    try:
        return action(), 200
    except DomainError as exc:
        return None, show_on_form(form, exc, fallback_field)
