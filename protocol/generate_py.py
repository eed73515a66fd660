"""Generate the agent's validators from the JSON Schemas in this folder.

    python protocol/generate_py.py            write kernel-launcher/heapscope/agent/_protocol_validators.py
    python protocol/generate_py.py --check    exit 1 when that file is not what the schemas give

fastjsonschema (a development dependency, pinned in requirements-dev.txt) compiles every schema into plain
Python ahead of time, so the kernel needs no validation library at run time and never compiles code. It
implements draft 7: the one 2020-12 keyword the schemas use, ``prefixItems`` (the ``[time, bytes]`` pairs
of ``ticks``), is turned into draft 7's ``items`` array here; the TypeScript-only ``tsType`` is dropped.
The generated module also carries ``LIMITS`` (each string type's ``maxLength``) for
``heapscope.agent.protocol.clip``, so the limits are written only in the schemas.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "kernel-launcher" / "heapscope" / "agent" / "_protocol_validators.py"
BASE = "https://heapscope.invalid/protocol/"
DEFS = BASE + "defs.schema.json#/$defs/"

#: Public name in the generated module -> the schema (by URI) it validates.
ENTRIES = {
    "validate_report": BASE + "report.schema.json",
    "validate_status": DEFS + "Status",
    "validate_cell_start": DEFS + "CellStart",
    "validate_cell_run": DEFS + "CellRun",
    "validate_site": DEFS + "Site",
    "validate_sites": DEFS + "Sites",
    "validate_retained_by_cell": DEFS + "RetainedByCell",
}


def by_type(schemas: dict, side: str) -> dict:
    """Message type -> the URI of its own schema (``kernel/<type>.schema.json``): the same checks as the
    side's schema for a message of that type (whose ``allOf`` of ``if``/``then`` tries every type, one
    exception each), which protocol.validate calls once it has checked ``protocol`` and ``type`` (what the
    side's schema adds). So the side's schema itself is not compiled."""
    kinds = schemas[BASE + f"{side}.schema.json"]["properties"]["type"]["enum"]
    return {kind: BASE + f"{side}/{kind}.schema.json" for kind in kinds}


def load_schemas() -> dict:
    """Every schema file of this folder by its ``$id``."""
    out = {}
    for path in sorted(HERE.rglob("*.schema.json")):
        if "fixtures" in path.relative_to(HERE).parts:
            continue
        schema = json.loads(path.read_text(encoding="utf-8"))
        out[schema["$id"]] = schema
    return out


def to_draft7(node):
    """A copy of ``node`` in draft 7's words (``prefixItems`` -> ``items`` array), without ``tsType``, and
    ``anyOf: [{"type": "null"}, X]`` as ``if null else X`` (the same meaning, but a problem inside X is
    reported as itself rather than as "cannot be validated by any definition"; generate.js does the same)."""
    if isinstance(node, list):
        return [to_draft7(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_draft7(v) for k, v in node.items() if k != "tsType"}
    if "prefixItems" in out:
        out["additionalItems"] = out.pop("items", True)
        out["items"] = out.pop("prefixItems")
    nullable = out.get("anyOf")
    if isinstance(nullable, list) and len(nullable) == 2 and {"type": "null"} in nullable:
        del out["anyOf"]
        out["if"] = {"type": "null"}
        out["else"] = next(v for v in nullable if v != {"type": "null"})
    return out


def inline_leaves(schemas: dict) -> dict:
    """References to a leaf definition of defs.schema.json (one that refers to nothing: Bytes, FileName, Line,
    ...) replaced by its content: the same checks, without one Python call per field (a ``history`` has
    thousands of sites)."""
    defs = schemas[BASE + "defs.schema.json"]["$defs"]

    def refers(node) -> bool:
        if isinstance(node, dict):
            return "$ref" in node or any(refers(v) for v in node.values())
        return isinstance(node, list) and any(refers(v) for v in node)

    leaves = {name: d for name, d in defs.items() if not refers(d)}

    def walk(node, in_defs: bool):
        if isinstance(node, list):
            return [walk(v, in_defs) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            local = ref.startswith("#/$defs/") and in_defs
            remote = ref.split("#")[0].endswith("defs.schema.json") and "#/$defs/" in ref
            if name in leaves and (local or remote):
                return copy.deepcopy(leaves[name])
        return {k: walk(v, in_defs) for k, v in node.items()}

    return {uri: walk(s, uri == BASE + "defs.schema.json") for uri, s in schemas.items()}


def limits(schemas: dict) -> dict:
    defs = schemas[BASE + "defs.schema.json"]["$defs"]
    return {name: d["maxLength"] for name, d in defs.items() if isinstance(d, dict) and "maxLength" in d}


def generate() -> str:
    import fastjsonschema
    from fastjsonschema.ref_resolver import RefResolver

    schemas = {uri: to_draft7(s) for uri, s in load_schemas().items()}
    schemas = inline_leaves(schemas)

    def handler(uri: str):
        if uri not in schemas:
            raise ValueError(f"unknown schema {uri} (schemas are never fetched)")
        return copy.deepcopy(schemas[uri])

    typed = {side: by_type(schemas, side) for side in ("kernel", "browser")}
    uris = list(ENTRIES.values()) + [uri for side in typed.values() for uri in side.values()]
    root = {"$id": BASE + "_entries.json", "anyOf": [{"$ref": uri} for uri in uris]}
    code = fastjsonschema.compile_to_code(root, handlers={"https": handler})
    # Keep the message only: detailed exceptions would carry the (expanded) schema of every check in the
    # code (fastjsonschema 2.22's detailed_exceptions=False fails on `const`).
    code = re.sub(r", value=.*?, rule='[A-Za-z]+'\)$", ")", code, flags=re.M)
    # The path of a list item is built for every item, error or not: str() instead of format(**locals()).
    code = re.sub(r'"\[\{(\w+)\}\]"\.format\(\*\*locals\(\)\)', r'"[" + str(\1) + "]"', code)
    code = code.replace(
        "from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException",
        "class JsonSchemaValueException(ValueError):\n"
        "    def __init__(self, message, *args, **kwargs):\n"
        "        super().__init__(message)\n"
        "        self.message = message\n\n\n"
        "class JsonSchemaValuesException(ValueError):\n"
        "    pass",
    )
    if "fastjsonschema" in code.replace("VERSION", ""):
        raise RuntimeError("the generated code still imports fastjsonschema")
    resolver = RefResolver(BASE, root)

    def function(uri: str) -> str:
        resolver.resolution_scope = uri
        name = resolver.get_scope_name()
        if f"def {name}(" not in code:
            raise RuntimeError(f"no function {name} for {uri} in the generated code")
        return name

    names = {public: function(uri) for public, uri in ENTRIES.items()}
    header = (
        '"""GENERATED by protocol/generate_py.py from protocol/*.schema.json: do not edit.\n\n'
        "Validators compiled by fastjsonschema ahead of time (no run-time dependency). Each raises\n"
        "JsonSchemaValueException on the first problem; heapscope.agent.protocol wraps them.\n"
        '"""\n'
        "# fmt: off\n"
        "# ruff: noqa\n"
        "# flake8: noqa\n"
    )
    footer = ["", "", "# --- entry points ---", ""]
    for public, name in names.items():
        footer.append(f"{public} = {name}")
    for side, uris in typed.items():
        footer += ["", f"#: The validator of each {side} message type (its own schema)."]
        footer.append(f"{side.upper()}_VALIDATORS = {{")
        footer += [f"    {kind!r}: {function(uri)}," for kind, uri in uris.items()]
        footer.append("}")
    footer += [
        "",
        "#: maxLength of each string type of defs.schema.json, by its name.",
        f"LIMITS = {limits(load_schemas())!r}",
        "#: What the agent appends to a string it had to cut.",
        f"TRUNCATION_MARKER = {load_schemas()[BASE + 'defs.schema.json']['$defs']['TruncationMarker']['const']!r}",
        f"PROTOCOL_VERSION = {load_schemas()[BASE + 'defs.schema.json']['$defs']['ProtocolVersion']['const']!r}",
        f"KERNEL_TYPES = {tuple(load_schemas()[BASE + 'kernel.schema.json']['properties']['type']['enum'])!r}",
        f"BROWSER_TYPES = {tuple(load_schemas()[BASE + 'browser.schema.json']['properties']['type']['enum'])!r}",
        "",
    ]
    code = re.sub(r"[ \t]+\n", "\n", code)
    return header + code.rstrip() + "\n" + "\n".join(footer)


def main(argv) -> int:
    text = generate()
    if "--check" in argv:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date: run python protocol/generate_py.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(HERE.parent)} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
