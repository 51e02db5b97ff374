"""Typed text enters the app in Unicode NFC, whatever the keyboard or paste produced.

The ledger refuses to seal a string that is not in NFC (docs/ledger.md, "Strict parsing"),
so that a value and its decomposed spelling can never share a hash. Normalising here, where
form fields and query arguments are parsed, means a person typing "e" + U+0301 still saves
"é", and every model below sees, stores and seals the same NFC text (passwords included:
NFC at sign-up and at sign-in, as NIST SP 800-63B advises normalising).
"""
from flask import Request
from werkzeug.utils import cached_property

from ledger.encoding import to_nfc

__all__ = ["NfcRequest", "register"]


def _nfc_multidict(request, data):
    """`data` itself when all ASCII (the common case), else a copy with NFC keys and values."""
    pairs = list(data.items(multi=True))
    if all(key.isascii() and value.isascii() for key, value in pairs):
        return data
    return request.parameter_storage_class([(to_nfc(key), to_nfc(value))
                                            for key, value in pairs])


class NfcRequest(Request):
    """Flask's request with `form` and `args` in NFC (uploaded files are left as sent)."""

    def _load_form_data(self) -> None:
        loaded = "form" in self.__dict__
        super()._load_form_data()
        if not loaded:
            self.__dict__["form"] = _nfc_multidict(self, self.__dict__["form"])

    @cached_property
    def args(self):
        return _nfc_multidict(self, super().args)

    def get_json(self, force=False, silent=False, cache=True):
        """The JSON body with its strings in NFC (the same rule as form fields)."""
        return to_nfc(super().get_json(force=force, silent=silent, cache=cache))


def register(app) -> None:
    app.request_class = NfcRequest
