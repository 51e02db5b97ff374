"""The tests' shared URL builders (tests/url_builders.py) build exactly what werkzeug's own,
freshly compiled per rule, builds: every rule of the app, with and without query arguments."""
from werkzeug.routing.rules import Rule

from tests import url_builders


def _value(converter):
    kind = type(converter).__name__
    if kind == "AnyConverter":
        return sorted(converter.items)[-1]
    return {"IntegerConverter": 7, "FloatConverter": 1.5, "PathConverter": "a b/é"}.get(
        kind, "x-1 é")


def _values(rule):
    return {name: _value(converter) for name, converter in rule._converters.items()}


def test_the_shared_builders_are_installed_and_build_every_url_alike(app):
    assert Rule._compile_builder is url_builders._compile_once
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 100
    for rule in rules:
        values = _values(rule)
        for append_unknown in (False, True):
            fresh = url_builders.compile_builder(rule, append_unknown).__get__(rule, None)
            shared = rule._build_unknown if append_unknown else rule._build
            extra = {"next": "/a?b=c", "q": "é"} if append_unknown else {}
            assert shared(**values, **extra) == fresh(**values, **extra), rule.rule
