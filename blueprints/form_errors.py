"""Putting a model's domain error next to the form fields it names."""


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
