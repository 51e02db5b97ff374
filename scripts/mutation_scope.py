"""mutmut 2's hook, copied into each group's work copy as mutmut_config.py by scripts/mutation.

A group may name the functions (or classes, or `Class.method`) of a module that it is about
(its `functions` table, passed here as JSON in MUTATION_SCOPE): mutants outside them are
skipped, not run, so a large module's helpers do not cost a test run each.
"""
import ast
import functools
import json
import os


def spans_of(path, names):
    """{name: (first line, last line)} of the named top-level definitions and methods."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    found = {}
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        members = [(node.name, node)]
        if isinstance(node, ast.ClassDef):
            members += [(f"{node.name}.{sub.name}", sub) for sub in node.body
                        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef))]
        found.update({name: (sub.lineno, sub.end_lineno) for name, sub in members
                      if name in names})
    return found


@functools.cache
def _spans(filename):
    names = json.loads(os.environ.get("MUTATION_SCOPE") or "{}").get(filename)
    return None if names is None else list(spans_of(filename, names).values())


def pre_mutation(context):
    spans = _spans(context.filename)
    line = context.mutation_id.line_number + 1  # mutmut counts lines from 0
    if spans is not None and not any(first <= line <= last for first, last in spans):
        context.skip = True
