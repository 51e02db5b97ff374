"""The test suite creates about 2,500 apps; werkzeug compiles two URL-builder functions for each
of their ~165 rules (Python source built and compiled per rule: ~0.1 s of each create_app).
A builder is a pure function of the rule's text and parsed trace: the rule itself is passed in
as `self` when it is called, and converters are looked up then. So the tests compile each one
once per process and reuse it (tests/test_url_builders.py checks every rule builds the same URL
as a freshly compiled builder). The app itself is not changed: one process builds one app."""
from werkzeug.routing.rules import Rule

compile_builder = Rule._compile_builder
_compiled = {}


def _compile_once(rule, append_unknown=True):
    if rule.defaults:  # a default's converted value is baked into the code: compile as usual
        return compile_builder(rule, append_unknown)
    key = (rule.rule, tuple(rule._trace), append_unknown)
    if key not in _compiled:
        _compiled[key] = compile_builder(rule, append_unknown)
    return _compiled[key]


def install():
    Rule._compile_builder = _compile_once
