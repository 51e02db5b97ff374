"""FHIR JSON with exact decimals: Decimal in, JSON number out, and back.

FHIR decimals keep their precision ("72.5" is 72.5, "36.80" keeps its trailing zero), and the
records keep them as fixed-point strings; a binary float would not. The standard `json`
module cannot write a Decimal as a number, so `dumps` writes each one as a marker string and
swaps the marker for the digits afterwards; `loads` reads numbers with a fraction as Decimal.
"""
import json
import re
import secrets
from decimal import Decimal

_TOKEN = "dec" + secrets.token_hex(8)
_MARKER = re.compile('"' + _TOKEN + r':(-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)"')


def _default(value):
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"FHIR has no {value} decimal")
        return f"{_TOKEN}:{value}"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(resource, indent=None):
    """The resource (or Bundle) as FHIR JSON text, every Decimal written as a JSON number."""
    text = json.dumps(resource, default=_default, ensure_ascii=False, indent=indent,
                      separators=None if indent else (",", ":"))
    return _MARKER.sub(r"\1", text)


def loads(text):
    """FHIR JSON text as dicts, numbers with a fraction or exponent as Decimal (never float)."""
    return json.loads(text, parse_float=Decimal)
