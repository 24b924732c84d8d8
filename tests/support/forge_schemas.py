"""The official API descriptions in ../shared/schemas, as JSON Schema validators and as
a source of minimal valid response bodies for the forge fakes."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "schemas"  # ../shared beside the repo
# Without ../shared the fakes still answer with the fields gitops-updater reads (they set
# them themselves); only the checks against the official descriptions are left out.
AVAILABLE = SCHEMAS.is_dir()
ABSENT = f"{SCHEMAS} is absent: requests and responses are not checked against the API descriptions"


def _convert(node: Any) -> Any:
    """OpenAPI 3.0 / Swagger 2.0 schema -> JSON Schema (``nullable`` -> a null branch)."""
    if isinstance(node, list):
        return [_convert(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: _convert(v) for k, v in node.items() if k not in ("nullable", "discriminator", "example")
    }
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def document(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return data


@functools.cache
def _converted(name: str) -> dict[str, Any]:
    doc = document(name)
    if "components" in doc:
        return {"components": _convert(doc["components"])}
    return {"definitions": _convert(doc.get("definitions", {}))}


def validator(name: str, schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    """A validator for ``schema`` (which may ``$ref`` into the document)."""
    root = dict(_converted(name))
    root.update(_convert(schema))
    return jsonschema.Draft7Validator(root)


def errors(name: str, schema: dict[str, Any], instance: Any) -> list[str]:
    if not AVAILABLE:
        return []
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator(name, schema).iter_errors(instance)
    ]


def resolve(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    doc = document(name)
    seen = 0
    while "$ref" in schema:
        seen += 1
        if seen > 20:
            raise ValueError("ref loop")
        node: Any = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def synthesize(name: str, schema: dict[str, Any], depth: int = 0) -> Any:
    """A minimal instance of ``schema``: every required property, simplest values."""
    if not AVAILABLE:
        return {}
    schema = resolve(name, schema)
    if depth > 12:
        return None
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = synthesize(name, part, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return synthesize(name, schema[key][0], depth + 1)
    if "enum" in schema:
        return copy.deepcopy(schema["enum"][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties", {})
        return {
            key: synthesize(name, props.get(key, {}), depth + 1)
            for key in schema.get("required", [])
        }
    if kind == "array":
        return []
    if kind == "string":
        fmt = schema.get("format")
        return {
            "date-time": "2026-01-01T00:00:00Z",
            "uri": "https://example.invalid/",
            "email": "bot@example.invalid",
            "uri-template": "https://example.invalid/{x}",
        }.get(fmt or "", "x")
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    return None


GITHUB = "github-rest-subset.json"
GITLAB = "gitlab-rest-subset.json"


def github_operation(method: str, path: str) -> dict[str, Any]:
    op: dict[str, Any] = document(GITHUB)["paths"][path][method.lower()]
    return op


def github_request_schema(method: str, path: str) -> dict[str, Any] | None:
    if not AVAILABLE:
        return None
    op = github_operation(method, path)
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = body.get("schema")
    return schema if isinstance(schema, dict) else None


def github_response_schema(method: str, path: str) -> tuple[int, dict[str, Any]]:
    op = github_operation(method, path)
    for status, response in op["responses"].items():
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            return int(status), schema
    raise KeyError(f"{method} {path}: no JSON response")


def gitlab_operation(method: str, path: str) -> dict[str, Any]:
    op: dict[str, Any] = document(GITLAB)["paths"][path][method.lower()]
    return op


def gitlab_request_schema(method: str, path: str) -> dict[str, Any] | None:
    if not AVAILABLE:
        return None
    for param in gitlab_operation(method, path).get("parameters", []):
        if param.get("in") == "body":
            schema = param.get("schema")
            return schema if isinstance(schema, dict) else None
    return None


def gitlab_response_schema(method: str, path: str) -> tuple[int, dict[str, Any]]:
    for status, response in gitlab_operation(method, path)["responses"].items():
        if "schema" in response:
            return int(status), response["schema"]
    raise KeyError(f"{method} {path}: no response schema")


def gitlab_entity_errors(schema: dict[str, Any], instance: dict[str, Any]) -> list[str]:
    """Check a GitLab response against its entity the way the description allows.

    GitLab's description is generated by grape-swagger, which types every entity field
    without its own documentation as ``"type": "string"`` (``draft``, ``labels``,
    ``merge_when_pipeline_succeeds``...), and single-entity ``$ref`` even for lists
    (``assignees``); the real API answers booleans and arrays there. So: every field
    must be one the entity declares, and the fields it documents explicitly (with an
    ``example`` or ``format``, or as integers) must have that type.
    """
    entity = resolve(GITLAB, schema)
    props = entity.get("properties", {})
    problems = []
    for key, value in instance.items():
        if key not in props:
            problems.append(f"{key}: not a field of the entity")
            continue
        prop = props[key]
        documented = "example" in prop or "format" in prop or prop.get("type") == "integer"
        if not documented or value is None:
            continue
        expected = {"integer": int, "string": str, "boolean": bool}.get(prop.get("type", ""))
        if expected is not None and not isinstance(value, expected):
            problems.append(f"{key}: {value!r} is not {prop['type']}")
    return problems
