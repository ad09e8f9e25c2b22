"""report.html rendered by real headless Chromium: the screenshot shows the verdict banner and the first chart."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.records import REPORT_HTML
from harness.report.colours import KNOWN_VARIANTS
from harness.report.html import BANNER_FAIL, BANNER_PASS

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (apt-get install chromium)")
WIDTH, HEIGHT = 1280, 2000


def screenshot(html: Path, tmp_path: Path) -> np.ndarray:
    png = tmp_path / "report.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={WIDTH},{HEIGHT}",
                    f"--screenshot={png}", html.as_uri()], check=True, capture_output=True, timeout=60)
    assert png.stat().st_size > 50_000, "a near-empty screenshot: the page did not render"
    return np.asarray(Image.open(png).convert("RGB")).astype(int)


def pixels_like(image: np.ndarray, colour: str, tolerance: int = 14) -> int:
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(image - rgb).max(axis=2) <= tolerance).sum())


def test_screenshot_shows_the_green_verdict_banner_and_the_first_chart(shown_run, tmp_path):
    """Top of the page: a wide green banner; below the cards: chart 1 with buggy and fixed lines."""
    image = screenshot(shown_run[0] / REPORT_HTML, tmp_path)
    assert image.shape[:2] == (HEIGHT, WIDTH)
    assert pixels_like(image[:260], BANNER_PASS) > 60_000  # about 1150 x 85 px of banner
    assert pixels_like(image[:260], BANNER_FAIL) < 2_000    # at most the buggy variant's small FAIL badge
    first_chart = image[360:800]
    assert pixels_like(first_chart, KNOWN_VARIANTS["buggy"]) > 300
    assert pixels_like(first_chart, KNOWN_VARIANTS["fixed"]) > 300


def test_screenshot_of_a_run_that_did_not_show_has_a_red_banner(not_shown_run, tmp_path):
    """The verdict is the first thing a reader sees: red when a variant did not show its expectation."""
    image = screenshot(not_shown_run[0] / REPORT_HTML, tmp_path)
    assert pixels_like(image[:260], BANNER_FAIL) > 60_000
