"""`python -m harness.records schemas DIR`: write the JSON Schema of every run-folder file into DIR."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from harness.records.files import RUN_FILES, RunFile

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_name(model: type[RunFile]) -> str:
    """manifest.json -> manifest.schema.json; faults.jsonl (one schema per line) -> faults.schema.json."""
    return f"{model.FILE.split('.')[0]}.schema.json"


def schema_text(model: type[RunFile]) -> str:
    schema = {"$schema": SCHEMA_DIALECT, **model.model_json_schema(), "title": model.FILE}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def schemas() -> dict[str, str]:
    """File name -> schema text, for every run-folder file."""
    return {schema_name(model): schema_text(model) for model in RUN_FILES}


@click.group()
def main() -> None:
    """The run folder's file formats."""


@main.command("schemas")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
def write_schemas(out: Path) -> None:
    """Write every run-folder file's JSON Schema into OUT (docs/schemas in the repository)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, text in schemas().items():
        (out / name).write_text(text)
        click.echo(out / name)


if __name__ == "__main__":
    sys.exit(main())
