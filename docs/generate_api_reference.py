"""Write docs/api-reference.md from the OpenAPI schema the app serves.

The reference is generated so that it cannot drift from the code: a test
(``tests/compat/test_docs.py``) regenerates it and fails when the committed file differs.

    python docs/generate_api_reference.py          # rewrite docs/api-reference.md
    python docs/generate_api_reference.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "api-reference.md"
PREFIX = "/api/v1/tasks/"
METHODS = ("get", "post", "put", "patch", "delete")


def build_schema() -> dict[str, Any]:
    """Return the OpenAPI schema of the app's URLconf, mounted at ``api/v1/tasks/``."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docs.reference_settings")
    import django

    django.setup()
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator(urlconf="docs.reference_urls")
    return generator.get_schema(request=None, public=True)


def _type(schema: dict[str, Any] | None) -> str:
    if schema is None:
        return ""
    if not schema:
        return "any JSON value"
    if "$ref" in schema:
        return f"[{schema['$ref'].rsplit('/', 1)[-1]}](#{_anchor(schema['$ref'])})"
    if "allOf" in schema:
        return " & ".join(_type(part) for part in schema["allOf"])
    if "oneOf" in schema:
        return " or ".join(_type(part) for part in schema["oneOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type(schema.get('items'))}"
    if "enum" in schema:
        values = ", ".join(f"`{value}`" for value in schema["enum"] if value not in ("", None))
        return f"{kind}: one of {values}"
    if schema.get("format"):
        kind = f"{kind} ({schema['format']})"
    if schema.get("nullable"):
        kind += ", nullable"
    return kind


def _anchor(ref: str) -> str:
    return "schema-" + ref.rsplit("/", 1)[-1].lower()


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _parameter_type(parameter: dict[str, Any]) -> str:
    if "schema" in parameter:
        return _type(parameter["schema"])
    content = parameter.get("content", {})
    for media, body in content.items():
        return f"{_type(body.get('schema'))} as {media}"
    return ""


def _operation(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    description = operation.get("description", "").strip()
    if description:
        lines += [description, ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | type | description |", "|---|---|---|---|"]
        for parameter in parameters:
            lines.append(
                f"| `{parameter['name']}` | {parameter['in']} | "
                f"{_cell(_parameter_type(parameter))} | "
                f"{_cell(parameter.get('description', ''))} |"
            )
        lines.append("")
    body = operation.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        lines += [f"Request body: {_type(body['application/json'].get('schema'))}", ""]
    lines += ["| response | body | description |", "|---|---|---|"]
    for code, response in operation.get("responses", {}).items():
        content = response.get("content", {}).get("application/json", {})
        lines.append(
            f"| {code} | {_cell(_type(content.get('schema')))} | "
            f"{_cell(response.get('description', ''))} |"
        )
    return [*lines, ""]


def _component(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f'<a id="schema-{name.lower()}"></a>', f"### {name}", ""]
    if schema.get("description"):
        lines += [schema["description"].strip(), ""]
    properties = schema.get("properties")
    if not properties:
        return [*lines, f"Type: {_type(schema)}", ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | required | description |", "|---|---|---|---|"]
    for field, spec in properties.items():
        notes = spec.get("description", "")
        if spec.get("readOnly"):
            notes = f"read-only. {notes}".strip()
        lines.append(
            f"| `{field}` | {_cell(_type(spec))} | {'yes' if field in required else ''} | "
            f"{_cell(notes)} |"
        )
    return [*lines, ""]


def render(schema: dict[str, Any]) -> str:
    """Return the Markdown reference: every operation under the prefix, then the schemas."""
    lines = [
        "# REST API reference",
        "",
        "Generated from the OpenAPI schema by `python docs/generate_api_reference.py`; do not",
        "edit by hand. Usage, examples and the rules behind these endpoints: [api.md](api.md).",
        "Paths are shown mounted at `api/v1/tasks/`.",
        "",
        "## Endpoints",
        "",
    ]
    for path, operations in schema["paths"].items():
        if not path.startswith(PREFIX):
            continue
        for method in METHODS:
            if method in operations:
                lines += _operation(method, path, operations[method])
    lines += ["## Schemas", ""]
    for name, component in sorted(schema.get("components", {}).get("schemas", {}).items()):
        lines += _component(name, component)
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    options = parser.parse_args()
    text = render(build_schema())
    if options.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run {__file__}", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
