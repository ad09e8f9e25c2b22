"""One colour per variant name and per error kind, the same in every chart and in the HTML."""

from __future__ import annotations

import zlib

from harness.records import ERROR_KINDS, ErrorKind, Verdict

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
KNOWN_VARIANTS = {"buggy": "#D55E00", "fixed": "#0072B2"}
PALETTE = ("#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#8C6D31", "#7F7F7F")
ERROR_KIND_COLOURS = dict(zip(ERROR_KINDS, ("#E15759", "#F28E2B", "#EDC948", "#76B7B2", "#59A14F", "#B07AA1",
                                            "#FF9DA7", "#BAB0AC", "#4E79A7"), strict=True))
VERDICT_COLOURS: dict[str, str] = {Verdict.PASS: "#1A7F37", Verdict.FAIL: "#CF222E",
                                    Verdict.INCONCLUSIVE: "#9A6700", Verdict.NOT_JUDGED: "#6E7781"}
FAULT_SHADE = "#9E9E9E"
STAGE_SHADE = "#4E79A7"   # load stages: a blue band under the grey of faults, so both read at once


def variant_colours(names: list[str]) -> dict[str, str]:
    """buggy and fixed always get their colours; other names hash to a stable one, probing past clashes."""
    colours = {n: KNOWN_VARIANTS[n] for n in names if n in KNOWN_VARIANTS}
    for name in names:
        if name in colours:
            continue
        start = zlib.crc32(name.encode())
        free = [PALETTE[(start + i) % len(PALETTE)] for i in range(len(PALETTE))]
        colours[name] = next((c for c in free if c not in colours.values()), free[0])
    return colours


def error_kind_colour(kind: str) -> str:
    return ERROR_KIND_COLOURS.get(kind, ERROR_KIND_COLOURS[ErrorKind.OTHER])
