"""report.html: one self-contained page (charts inlined as base64 PNG): verdict, charts, tables, faults, manifest."""

from __future__ import annotations

import base64
from collections.abc import Set as AbstractSet
from html import escape
from typing import cast

from harness.analysis.run_analysis import RunAnalysis, VariantResult
from harness.report import fmt, text
from harness.report.charts import Chart
from harness.report.colours import VERDICT_COLOURS, variant_colours
from harness.report.failover import failover_sentences
from harness.report.objectives import objectives_html

BANNER_PASS, BANNER_FAIL = "#1A7F37", "#CF222E"

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2328;margin:0;
background:#f6f8fa}
main{max-width:1160px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:22px;margin:4px 0 2px}h2{font-size:18px;margin:32px 0 10px;border-bottom:1px solid #d0d7de;
padding-bottom:4px}
.sub{color:#59636e;margin:0 0 14px}
.banner{color:#fff;border-radius:8px;padding:16px 20px;margin:10px 0 14px}
.banner strong{font-size:24px;display:block}.banner span{opacity:.95}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #d0d7de;border-left:8px solid;border-radius:6px;padding:10px 14px;
min-width:230px;flex:1}
.card .name{font-weight:700;font-size:17px}.badge{color:#fff;border-radius:4px;padding:1px 8px;font-weight:700;
font-size:13px;text-transform:uppercase}
.card .rate{font-size:19px;font-weight:600;margin:4px 0}.muted{color:#59636e;font-size:13px}
.problems{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 14px;margin:12px 0}
figure{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:0 0 16px;padding:10px}
figure img{max-width:100%;display:block;margin:0 auto}figcaption{color:#59636e;font-size:13px;margin-top:4px}
figure h3{margin:0 0 6px;font-size:15px}
table{border-collapse:collapse;background:#fff;margin:6px 0 14px;font-size:13.5px;width:100%}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eef1f4}
td.n{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#fff;border:1px solid #d0d7de;padding:10px;overflow:auto;font-size:12.5px}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px}
"""


def render_html(analysis: RunAnalysis, charts: list[Chart]) -> str:
    colours = variant_colours([v.name for v in analysis.variants])
    scenario = analysis.records.manifest.scenario
    body = "".join([
        f"<h1>{escape(text.scenario_name(analysis))} · auth-chaos-harness report</h1>",
        f"<p class=sub>{escape(scenario.description or '')} "
        f"<span class=muted>Run folder: {escape(str(analysis.records.run_dir))}</span></p>",
        banner(analysis), cards(analysis, colours), problems(analysis),
        "<h2>Charts</h2>", *(figure(c) for c in charts),
        "<h2>Variants</h2>", variants_table(analysis, colours),
        objectives_html(analysis),
        "<h2>Before vs after</h2>", pairs_table(analysis),
        "<h2>Phases</h2>", phases_table(analysis, colours),
        "<h2>Recovery after each fault</h2>", recovery_table(analysis, colours),
        *(f"<p>{escape(sentence)}</p>" for sentence in failover_sentences(analysis)),
        "<h2>Latency per request and flow</h2>", latency_tables(analysis, colours),
        "<h2>Fault timeline</h2>", fault_table(analysis),
        "<h2>Manifest</h2>", manifest_section(analysis),
    ])
    title = escape(f"{text.scenario_name(analysis)}: {text.headline(analysis)}")
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


def banner(analysis: RunAnalysis) -> str:
    colour = BANNER_PASS if analysis.all_shown else BANNER_FAIL
    mark = "✔" if analysis.all_shown else "✘"
    return (f"<div class=banner id=verdict style='background:{colour}'><strong>{mark} "
            f"{escape(text.headline(analysis))}</strong><span>{escape(text.target_sentence(analysis))}</span></div>")


def cards(analysis: RunAnalysis, colours: dict[str, str]) -> str:
    return "<div class=cards>" + "".join(card(v, colours[v.name]) for v in analysis.variants) + "</div>"


def card(v: VariantResult, colour: str) -> str:
    return (f"<div class=card style='border-left-color:{colour}'><div class=name>{escape(v.name)} "
            f"{badge(v.verdict.value)}</div><div class=rate>{escape(fmt.rate_ci(v.rate))}</div>"
            f"<div>{expectation(v)}</div>"
            f"<div class=muted>{v.rate.n:,} flows · errors: {escape(fmt.main_errors(v.failures_by_kind, v.rate.n))}"
            f"</div>{burst_note(v)}{stop_note(v)}</div>")


def burst_note(v: VariantResult) -> str:
    sentence = text.burst_sentence(v)
    return "" if sentence is None else f"<div class='muted bursts'>{escape(sentence)}</div>"


def stop_note(v: VariantResult) -> str:
    sentence = text.stop_sentence(v)
    return "" if sentence is None else f"<div class='muted stop'>{escape(sentence)}</div>"


def expectation(v: VariantResult) -> str:
    """A failing verdict can be the good news (the buggy variant reproduced the incident): say which it is."""
    if v.shown is None:
        return "<span class=muted>no expectation declared</span>"
    colour, mark, word = (BANNER_PASS, "✔", "as expected") if v.shown else (BANNER_FAIL, "✘", "NOT as expected")
    return (f"<strong style='color:{colour}'>{mark} {word}</strong> "
            f"<span class=muted>(expected {escape(v.info.expect or '')})</span>")


def badge(verdict: str) -> str:
    return f"<span class=badge style='background:{VERDICT_COLOURS[verdict]}'>{escape(verdict)}</span>"


def swatch(name: str, colours: dict[str, str]) -> str:
    return f"<span class=swatch style='background:{colours[name]}'></span>{escape(name)}"


def problems(analysis: RunAnalysis) -> str:
    if not analysis.records.problems:
        return ""
    items = "".join(f"<li>{escape(p)}</li>" for p in analysis.records.problems)
    return f"<div class=problems><strong>Problems reading the records</strong> (reported from what was readable)" \
           f"<ul>{items}</ul></div>"


def figure(chart: Chart) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    return (f"<figure><h3>{escape(chart.title)}</h3><img alt='{escape(chart.title)}' "
            f"src='data:image/png;base64,{data}'><figcaption>{escape(chart.caption)}</figcaption></figure>")


def table(headers: list[str] | None, rows: list[list[str]], numeric: AbstractSet[int] = frozenset()) -> str:
    """Cells are trusted HTML fragments: callers escape user-controlled text. No headers: a key-value table."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers) if headers else ""
    body = "".join("<tr>" + "".join(f"<td{' class=n' if i in numeric else ''}>{c}</td>" for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def variants_table(analysis: RunAnalysis, colours: dict[str, str]) -> str:
    rows = [[swatch(v.name, colours), escape(v.info.status), f"{v.rate.n:,}", escape(fmt.rate_ci(v.rate)),
             escape(fmt.wilson_ci(v)), escape(fmt.design_effect(v)),
             escape(fmt.main_errors(v.failures_by_kind, v.rate.n, top=4)), escape(fmt.ms(v.target_p95_ms)),
             f"{v.requests_per_s or 0:.1f}", badge(v.verdict.value), escape(v.info.expect or "–"),
             text.shown_mark(v)] for v in analysis.variants]
    return table(["variant", "status", "flows", "success rate [CI, judged]", "Wilson [CI]", "design effect", "errors",
                  "p95", "requests/s", "verdict", "expected", "shown"], rows, numeric={2, 5, 7, 8}) + replicates_list(
                      analysis)


def replicates_list(analysis: RunAnalysis) -> str:
    if not analysis.replicates:
        return ""
    items = "".join(f"<li>{escape(text.replicate_sentence(r))}</li>" for r in analysis.replicates)
    return f"<ul class=replicates>{items}</ul>"


def pairs_table(analysis: RunAnalysis) -> str:
    if not analysis.pairs:
        return "<p class=muted>One variant only: nothing to compare.</p>"
    return "<ul>" + "".join(f"<li>{escape(text.pair_sentence(p))}</li>" for p in analysis.pairs) + "</ul>"


def phases_table(analysis: RunAnalysis, colours: dict[str, str]) -> str:
    rows = [[swatch(v.name, colours), escape(p.phase.label), f"{p.phase.start_s:.1f}–{p.phase.end_s:.1f} s",
             f"{p.rate.n:,}", escape(fmt.rate_ci(p.rate)), escape(fmt.main_errors(p.failures_by_kind, p.rate.n)),
             escape(fmt.ms(p.p95_ms)), f"{p.requests_per_s or 0:.1f}"]
            for v in analysis.variants for p in v.phases]
    if not rows:
        return "<p class=muted>No faults in this run: the whole run is one phase.</p>"
    return table(["variant", "phase", "span", "flows", "success rate [CI]", "errors", "p95", "requests/s"], rows,
                 numeric={3, 6, 7})


def recovery_table(analysis: RunAnalysis, colours: dict[str, str]) -> str:
    rows = [[swatch(v.name, colours), escape(r.label), f"{r.ended_s:.1f} s",
             escape(fmt.seconds(r.recovery_s)) if r.recovered else f"<strong>{escape(r.note)}</strong>"]
            for v in analysis.variants for r in v.recoveries]
    if not rows:
        return "<p class=muted>No fault ended during the run.</p>"
    hold = ("Recovered = the per-second success rate is back at or above the target for 5 seconds in a row "
            "(seconds without flows are skipped).")
    return table(["variant", "fault", "ended at", "recovery time"], rows) + f"<p class=muted>{hold}</p>"


def latency_tables(analysis: RunAnalysis, colours: dict[str, str]) -> str:
    rows = []
    for v in analysis.variants:
        for key, r in v.latency.iterrows():
            kind, name = cast("tuple[str, str]", key)  # the index is (kind, name); pandas-stubs says Hashable
            rows.append([swatch(v.name, colours), escape(f"{name} ({kind})"), f"{int(r['count']):,}",
                         fmt.pct(r["success_rate"]), *(escape(fmt.ms(r[c])) for c in
                                                        ("p50_ms", "p95_ms", "p99_ms", "max_ms"))])
    return table(["variant", "name", "count", "success", "p50", "p95", "p99", "max"], rows,
                 numeric={2, 3, 4, 5, 6, 7})


def fault_table(analysis: RunAnalysis) -> str:
    events = analysis.records.fault_events
    if not events:
        return "<p class=muted>No fault actions recorded.</p>"
    rows = [[f"{e.t:.2f} s", escape(e.variant), str(e.fault), escape(e.label), escape(e.type), escape(e.proxy),
             escape(e.action + (" (rollback)" if e.rollback else ""))] for e in events]
    return table(["t", "variant", "fault", "label", "type", "proxy", "action"], rows, numeric={0})


def manifest_section(analysis: RunAnalysis) -> str:
    m = analysis.records.manifest
    versions = ", ".join(f"{k} {v}" for k, v in m.versions.items())
    facts = [("scenario file", m.scenario.file), ("seed", m.seed), ("command", " ".join(m.command)),
             ("fault proxy", m.fault_proxy.kind), ("started", m.started_at), ("ended", m.ended_at),
             ("status", m.status), ("versions", versions)]
    facts += [(f"variant {v.name}", f"profile {v.info.profile}, flags {v.info.flags}" if v.info.profile
               else "your own service (its command or url and env: manifest.json)") for v in analysis.variants]
    rows = [[escape(k), escape("–" if v in (None, "") else str(v))] for k, v in facts]
    return table(None, rows) + manifest_file(analysis)


def manifest_file(analysis: RunAnalysis) -> str:
    """The file's own text: when it did not validate, the facts above are defaults, not what it says."""
    records = analysis.records
    if records.manifest_text is None:
        return "<p class=muted>manifest.json: missing or unreadable; the facts above are defaults.</p>"
    note = "" if records.manifest_valid else \
        "<p class=muted>manifest.json did not validate (see the problems above); the facts above are defaults, " \
        "and this is the file as read:</p>"
    summary = "manifest.json" if records.manifest_valid else "manifest.json (did not validate)"
    return f"{note}<details><summary>{summary}</summary><pre>{escape(records.manifest_text)}</pre></details>"
