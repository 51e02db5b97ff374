"""The conformance vectors (docs/vectors/) agree with the project's verifier, and regenerate
byte for byte: an outside implementation checked against them is checked against the same
verdicts and problem lists as `python -m ledger` (docs/ledger.md §14)."""
import contextlib
import filecmp
import importlib.util
import io
import json
import os
import re

import pytest

from ledger.__main__ import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VECTORS = os.path.join(ROOT, "docs", "vectors")
_LINE = re.compile(r"(?P<kind>[a-z-]+) height=(?P<height>-|\d+)(?:\.\.(?P<end>\d+))?[ :]")
_VERDICTS = {0: ("VALID", "SOUND"), 1: ("INVALID", "TAMPERED")}

with open(os.path.join(VECTORS, "index.json"), encoding="utf-8") as _handle:
    INDEX = json.load(_handle)


def _params():
    for vector in INDEX["vectors"]:
        yield pytest.param(vector, id=vector["id"])


def run(command):
    """(exit status, stdout + stderr) of `python -m ledger <command>`, paths in docs/vectors."""
    out = io.StringIO()
    args = [os.path.join(VECTORS, arg) if os.path.exists(os.path.join(VECTORS, arg)) else arg
            for arg in command]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = main(args)
    return status, out.getvalue()


def verdict_of(status, output):
    if status == 2:
        return "ERROR"
    word = output.strip().splitlines()[-1].split(":")[0].split(" ")[0]
    assert word in _VERDICTS[status], output
    return word


def problems_of(output):
    """The problem lines' (kind, height, height_end), in a stable order."""
    found = []
    for line in output.splitlines()[:-1]:
        match = _LINE.match(line)
        assert match, line
        height = None if match["height"] == "-" else int(match["height"])
        end = int(match["end"]) if match["end"] else None
        found.append((match["kind"], height, end))
    return sorted(found, key=repr)


def expected_problems(vector):
    return sorted(((p["kind"], p.get("height"), p.get("height_end"))
                   for p in vector["problems"]), key=repr)


@pytest.mark.parametrize("vector", list(_params()))
def test_the_verifier_agrees_with_the_vector(vector):
    status, output = run(vector["command"])
    assert verdict_of(status, output) == vector["verdict"], output
    if "problems" in vector and status != 2:
        assert problems_of(output) == expected_problems(vector), output
    if "reason" in vector:
        assert vector["reason"] in output, output


def test_regenerating_the_vectors_gives_the_same_files(tmp_path):
    spec = importlib.util.spec_from_file_location("make_vectors", os.path.join(VECTORS, "make.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(str(tmp_path))
    committed = {os.path.relpath(os.path.join(d, f), VECTORS) for d, _, files in os.walk(VECTORS)
                 for f in files} - {"make.py"}
    made = {os.path.relpath(os.path.join(d, f), tmp_path) for d, _, files in os.walk(tmp_path)
            for f in files}
    assert made == committed
    _, mismatch, errors = filecmp.cmpfiles(VECTORS, tmp_path, sorted(made), shallow=False)
    assert mismatch == [] and errors == []


def test_every_vector_file_is_small_and_every_kind_is_covered():
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(VECTORS)
                for f in files)
    assert total < 1_000_000
    ids = [vector["id"] for vector in INDEX["vectors"]]
    assert len(ids) == len(set(ids))
    verdicts = {vector["verdict"] for vector in INDEX["vectors"]}
    assert verdicts == {"VALID", "INVALID", "SOUND", "TAMPERED", "ERROR"}
