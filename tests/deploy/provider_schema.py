"""Argument and block names of every AWS resource and data source, offline.

The npm package @cdktf/provider-aws is generated from the AWS provider's own schema
(`terraform providers schema -json`): for each resource it ships a `synthesizeHclAttributes()`
that lists every argument with `isBlock` true or false, and one `...ToHclTerraform(struct)`
function per nested block that lists the block's own arguments. This module reads those
listings straight out of the package tarball (fetched by .ci/aws-provider-schema) and caches
the result as JSON beside it.
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
FETCH_SCRIPT = REPO_ROOT / ".ci" / "aws-provider-schema"

_RESOURCE_TYPE = re.compile(r"terraformResourceType: '([a-z0-9_]+)'")
_ATTRS_START = "const attrs = {"
_ENTRY = re.compile(
    r"^ {8,}([a-z0-9_]+): \{\s*value: (.*?),\s*isBlock: (true|false),\s*type: \"(\w+)\",",
    re.MULTILINE | re.DOTALL,
)
_BLOCK_FUNCTION = re.compile(r"(?<![.\w])([a-z]\w*ToHclTerraform)\b")

# Terraform's own meta-arguments and blocks, valid in every resource / data source.
META_ARGUMENTS = {"count", "for_each", "provider", "depends_on"}
META_BLOCKS = {"lifecycle", "dynamic", "provisioner", "connection"}
# Blocks nested too deep for cdktf to generate: it types them as an argument of type `any`
# (`anyToHclTerraform`), where the provider's schema has a block. Their content goes unchecked.
DEEP_BLOCKS = {"aws_wafv2_web_acl": {"statement"}}


@dataclass
class Block:
    attributes: set[str] = field(default_factory=set)
    blocks: dict[str, Block] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "attributes": sorted(self.attributes),
            "blocks": {name: block.to_json() for name, block in sorted(self.blocks.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Block:
        return cls(
            attributes=set(data["attributes"]),
            blocks={name: cls.from_json(body) for name, body in data["blocks"].items()},
        )


def _attrs_body(source: str, start: int) -> str:
    """The text of the `const attrs = {...};` object literal that starts at `start`."""
    open_at = source.index(_ATTRS_START, start) + len(_ATTRS_START) - 1
    depth = 0
    for index in range(open_at, len(source)):
        char = source[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return source[open_at + 1 : index]
    raise ValueError("unbalanced attrs literal")


def _parse_block(source: str, start: int, seen: tuple[str, ...]) -> Block:
    block = Block()
    for name, value, is_block, _type in _ENTRY.findall(_attrs_body(source, start)):
        if is_block == "false":
            block.attributes.add(name)
            continue
        match = _BLOCK_FUNCTION.search(value)
        nested = Block()
        if match and match.group(1) not in seen:
            function = f"function {match.group(1)}(struct) {{"
            at = source.find(function)
            if at >= 0:
                nested = _parse_block(source, at, (*seen, match.group(1)))
        block.blocks[name] = nested
    return block


def parse_binding(source: str) -> tuple[str, Block] | None:
    """(terraform type, schema) of one generated lib/<name>/index.js, or None for helpers."""
    match = _RESOURCE_TYPE.search(source)
    at = source.find("synthesizeHclAttributes() {")
    if not match or at < 0:
        return None
    return match.group(1), _parse_block(source, at, ())


def build(tarball: Path) -> dict[str, Any]:
    schema: dict[str, Any] = {"resource": {}, "data": {}}
    with tarfile.open(tarball) as archive:
        package = json.load(archive.extractfile("package/package.json"))  # type: ignore[arg-type]
        for member in archive:
            parts = member.name.split("/")
            if len(parts) != 4 or parts[1] != "lib" or parts[3] != "index.js":
                continue
            source = archive.extractfile(member).read().decode()  # type: ignore[union-attr]
            parsed = parse_binding(source)
            if parsed is None or parts[2] == "provider":
                continue
            kind = "data" if parts[2].startswith("data-") else "resource"
            schema[kind][parsed[0]] = parsed[1].to_json()
    schema["provider_version"] = package["cdktf"]["provider"]["version"]
    schema["package_version"] = package["version"]
    return schema


@dataclass
class ProviderSchema:
    provider_version: str
    resources: dict[str, Block]
    data_sources: dict[str, Block]

    def of(self, kind: str, type_name: str) -> Block | None:
        return (self.resources if kind == "resource" else self.data_sources).get(type_name)


def load() -> ProviderSchema:
    """Fetch (once) and parse (once) the pinned provider schema."""
    tarball = Path(
        subprocess.run(
            ["bash", str(FETCH_SCRIPT)], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    cache = tarball.with_suffix(".schema.json")
    if not cache.exists():
        cache.write_text(json.dumps(build(tarball)))
    data = json.loads(cache.read_text())
    return ProviderSchema(
        provider_version=data["provider_version"],
        resources={k: Block.from_json(v) for k, v in data["resource"].items()},
        data_sources={k: Block.from_json(v) for k, v in data["data"].items()},
    )


def unknown_names(body: dict[str, Any], schema: Block, path: str) -> list[str]:
    """Names in a python-hcl2 resource body that the provider's schema does not know."""
    problems: list[str] = []
    for key, value in body.items():
        if key.startswith("__"):
            continue
        if key == "dynamic":
            for dynamic in value:
                for label, dynamic_body in dynamic.items():
                    if label.startswith("__"):
                        continue
                    nested = schema.blocks.get(label)
                    if nested is None:
                        problems.append(f"{path}: unknown block {label!r} (in dynamic)")
                        continue
                    for content in dynamic_body.get("content", []):
                        problems += unknown_names(content, nested, f"{path}.{label}")
            continue
        is_block = (
            isinstance(value, list)
            and all(isinstance(item, dict) and item.get("__is_block__") for item in value)
            and bool(value)
        )
        if is_block:
            if key in META_BLOCKS:
                continue
            nested = schema.blocks.get(key)
            if nested is None and key in DEEP_BLOCKS.get(path.split(".")[0], set()):
                continue
            if nested is None:
                hint = " (it is an argument: write `=`)" if key in schema.attributes else ""
                problems.append(f"{path}: unknown block {key!r}{hint}")
                continue
            for item in value:
                problems += unknown_names(item, nested, f"{path}.{key}")
        elif key not in schema.attributes and key not in META_ARGUMENTS:
            hint = " (it is a block: drop the `=`)" if key in schema.blocks else ""
            problems.append(f"{path}: unknown argument {key!r}{hint}")
    return problems
