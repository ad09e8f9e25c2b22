"""junit.xml: one test case per variant expectation, failing when the variant did not show it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.analysis.objectives import ObjectiveResult
from harness.analysis.run_analysis import RunAnalysis, VariantResult
from harness.records import Verdict
from harness.report import text
from harness.report.objectives import objective_sentence


def testcase(suite: ET.Element, v: VariantResult, analysis: RunAnalysis, classname: str) -> None:
    name = f"{v.name} expects {v.info.expect}" if v.info.expect else f"{v.name} (no expectation)"
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time=f"{v.end_s:.3f}")
    detail = text.variant_sentence(v, analysis.target.minimum)
    if v.shown is None:
        ET.SubElement(case, "skipped", message="the variant declares no expectation")
    elif not v.shown:
        failure = ET.SubElement(case, "failure", type="NotShown",
                                message=f"expected {v.info.expect}, verdict {v.verdict.value}")
        failure.text = detail
    ET.SubElement(case, "system-out").text = detail
    for result in v.objectives:
        objective_case(suite, v, result, classname)


def objective_case(suite: ET.Element, v: VariantResult, result: ObjectiveResult, classname: str) -> None:
    """Each latency objective its own case: a failure when a variant expected to pass did not pass it."""
    case = ET.SubElement(suite, "testcase", classname=classname, name=f"{v.name} {result.objective.label}",
                         time=f"{v.end_s:.3f}")
    detail = objective_sentence(v, result)
    if v.info.expect == Verdict.PASS and result.verdict is not Verdict.PASS:
        ET.SubElement(case, "failure", type="ObjectiveNotMet", message=detail)
    ET.SubElement(case, "system-out").text = detail


def render_junit(analysis: RunAnalysis) -> bytes:
    classname = f"harness.{text.scenario_name(analysis)}"
    failures = sum(v.shown is False for v in analysis.variants)
    skipped = sum(v.shown is None for v in analysis.variants)
    suites = ET.Element("testsuites", name="auth-chaos-harness", tests=str(len(analysis.variants)),
                        failures=str(failures))
    suite = ET.SubElement(suites, "testsuite", name=classname, tests=str(len(analysis.variants)),
                          failures=str(failures), errors="0", skipped=str(skipped),
                          time=f"{sum(v.end_s for v in analysis.variants):.3f}")
    for v in analysis.variants:
        testcase(suite, v, analysis, classname)
    # Objective cases join the counts, so a CI dashboard sees each objective as a test.
    cases = suite.findall("testcase")
    failed = str(sum(case.find("failure") is not None for case in cases))
    suite.set("tests", str(len(cases)))
    suite.set("failures", failed)
    suites.set("tests", str(len(cases)))
    suites.set("failures", failed)
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)
