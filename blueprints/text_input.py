"""Typed text enters the app in Unicode NFC, whatever the keyboard or paste produced.

The ledger refuses to seal a string that is not in NFC (docs/ledger.md, "Strict parsing"),
so that a value and its decomposed spelling can never share a hash. Normalising here, where
form fields and query arguments are parsed (no view reads a JSON body), means a person typing
"e" + U+0301 still saves "é", and every model below sees, stores and seals the same NFC text
(passwords included: NFC at sign-up and at sign-in, as NIST SP 800-63B advises).
"""
import unicodedata

from flask import Request
from werkzeug.utils import cached_property

__all__ = ["NfcRequest", "register"]


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _nfc_multidict(request, data):
    """`data` itself when all ASCII (the common case), else a copy with NFC keys and values."""
    pairs = list(data.items(multi=True))
    if all(key.isascii() and value.isascii() for key, value in pairs):
        return data
    return request.parameter_storage_class([(_nfc(key), _nfc(value)) for key, value in pairs])


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


def register(app) -> None:
    app.request_class = NfcRequest
