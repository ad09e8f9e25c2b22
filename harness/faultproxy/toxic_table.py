"""The docs' table of toxics and their attributes, generated from the toxic registry so it cannot drift.

`python -m harness.faultproxy.toxic_table docs/faultproxy.md` rewrites the table between its two markers.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.faultproxy.toxics import REGISTRY, ToxicParams

COMMAND = "python -m harness.faultproxy.toxic_table docs/faultproxy.md"
BEGIN = f"<!-- toxic table: generated from the toxic registry by `{COMMAND}`; edit the toxics, not this table -->"
END = "<!-- end of toxic table -->"


def markdown_table() -> str:
    rows = ["| type | attributes (unit) | a scenario must give | effect |", "|---|---|---|---|"]
    rows += [_row(name, params) for name, params in REGISTRY.items()]
    return "\n".join(rows)


def _row(name: str, params: type[ToxicParams]) -> str:
    specs = params.attribute_specs()
    attributes = ", ".join(f"`{key}` ({spec.described()})" for key, spec in specs.items())
    required = ", ".join(f"`{key}`" for key, spec in specs.items() if spec.required) or "nothing"
    effect = " ".join((params.__doc__ or "").split())
    return f"| {name} | {attributes} | {required} | {effect} |"


def with_table(text: str) -> str:
    """`text` with the part between the markers replaced by the current table; ValueError without markers."""
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"no toxic table markers ({BEGIN!r} ... {END!r})")
    return f"{head}{BEGIN}\n{markdown_table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(f"usage: {COMMAND}", file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        path.write_text(with_table(path.read_text()))
    except (OSError, ValueError) as exc:
        print(f"toxic_table: {path}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
