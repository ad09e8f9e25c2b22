"""The sweep charts: one panel function draws a latency sweep and a load sweep alike."""

from __future__ import annotations

from typing import Any

import pytest

from harness.report.sweep_charts import LATENCY_AXIS, LOAD_AXES, dose_response_chart, load_response_chart, sweep_figure

PNG = b"\x89PNG\r\n\x1a\n"


def _row(variant: str, users: int, latency_ms: int, rate: float, verdict: str) -> dict[str, Any]:
    return {"variant": variant, "users": users, "latency_ms": latency_ms, "arrival_rate": None,
            "success_rate": rate, "ci_low": rate - 0.01, "ci_high": min(rate + 0.01, 1.0), "verdict": verdict}


def _summary() -> dict[str, Any]:
    levels = [_row("buggy", users, latency, rate, verdict)
              for users, latency, rate, verdict in ((10, 0, 0.999, "pass"), (10, 200, 0.991, "inconclusive"),
                                                    (50, 0, 0.995, "pass"), (50, 200, 0.9, "fail"))]
    levels += [_row("fixed", users, latency, 0.9995, "pass") for users in (10, 50) for latency in (0, 200)]
    return {"scenario": "sweep-test", "target": {"metric": "login", "minimum": 0.99}, "levels": levels,
            "breaking_points": {"buggy @ 50 users": {"breaks_at_ms": 200}},
            "load_breaking_points": {"buggy @ 200 ms": {"breaks_at": 50}}}


def _hollow_points(ax: Any) -> list[tuple[float, float]]:
    return [(x, y) for line in ax.lines if line.get_markerfacecolor() == "white"
            for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True)]


@pytest.mark.parametrize(("axis", "panels", "inconclusive"), [
    (LATENCY_AXIS, [", 10 users", ", 50 users"], [(200, 0.991)]),
    (LOAD_AXES["users"], [", Redis latency 0 ms", ", Redis latency 200 ms"], [(10, 0.991)]),
])
def test_each_sweep_axis_draws_one_panel_per_other_level_with_hollow_inconclusive_points(axis, panels, inconclusive):
    """A panel per value of the other level; an inconclusive level is a hollow marker in both sweeps."""
    figure = sweep_figure(_summary(), axis)
    assert [ax.get_title() for ax in figure.axes] == [f"sweep-test{p}" for p in panels]
    hollow = [point for ax in figure.axes for point in _hollow_points(ax)]
    assert hollow == inconclusive
    legends = [t.get_text() for ax in figure.axes for t in ax.get_legend().get_texts()]
    assert "inconclusive (interval straddles target)" in legends
    assert any(text.startswith("buggy breaks at") for text in legends)


def test_both_sweep_charts_render_as_png():
    """The two entry points the sweep writes its charts with return PNG bytes."""
    assert dose_response_chart(_summary()).startswith(PNG)
    assert load_response_chart(_summary(), "users").startswith(PNG)


def test_an_arrival_rate_sweep_draws_one_panel_per_rate_with_its_own_breaking_point():
    """Rows carry arrival_rate (users None): a panel per rate, each series one rate's points, and the break
    looked up under sweep.json's `<variant> @ <rate> flows/s` key."""
    levels = [{**_row("buggy", 0, latency, rate, verdict), "users": None, "arrival_rate": arrival}
              for arrival, latency, rate, verdict in ((20, 0, 0.999, "pass"), (20, 200, 0.995, "pass"),
                                                      (50, 0, 0.995, "pass"), (50, 200, 0.9, "fail"))]
    summary = {"scenario": "sweep-test", "target": {"metric": "login", "minimum": 0.99}, "levels": levels,
               "breaking_points": {"buggy @ 50 flows/s": {"breaks_at_ms": 200}}}
    figure = sweep_figure(summary, LATENCY_AXIS)
    assert [ax.get_title() for ax in figure.axes] == ["sweep-test, 20 flows/s", "sweep-test, 50 flows/s"]
    series = [sorted(bars.lines[0].get_ydata()) for ax in figure.axes for bars in ax.containers
              if bars.get_label() == "buggy"]
    assert series == [[0.995, 0.999], [0.9, 0.995]]
    legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in figure.axes]
    assert not any("breaks" in text for text in legends[0]) and "buggy breaks at 200 ms" in legends[1]
