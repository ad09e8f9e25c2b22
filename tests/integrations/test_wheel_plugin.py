"""The pytest plugin works from the wheel alone (#12 part 5): `run_login_load()` finds its default Locust file
inside the installed package, with no checkout beside it.

Kept fast for CI: the wheel is built once (`pip wheel --no-deps --no-build-isolation`, no download) and
installed with `pip install --no-deps --target` into the site-packages of a fresh venv made without pip. That
venv reuses the dependencies of the project's .venv through a .pth line that only appends that folder to
sys.path: the .pth files in it (the editable install of this checkout) are not run, so `harness` comes from
the wheel, and the test runs in an empty folder outside the checkout.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PLUGIN_TEST = textwrap.dedent("""
    from pathlib import Path

    import harness
    from harness.pytest_plugin import DEFAULT_LOCUSTFILE, run_login_load


    def test_the_default_locustfile_ships_in_the_package(auth_service, tmp_path):
        assert Path(harness.__file__).resolve().is_relative_to(Path(__file__).resolve().parent / "venv")
        assert DEFAULT_LOCUSTFILE.is_file()
        result = run_login_load(auth_service(profile="fixed").url, users=2, duration_s=3, out_dir=tmp_path)
        assert result.flows > 0 and result.successes == result.flows, result
""")


@pytest.mark.slow
def test_run_login_load_works_from_an_installed_wheel(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(ROOT)], check=True, capture_output=True, timeout=300, cwd=tmp_path)
    wheel = next(wheels.glob("auth_chaos_harness-*.whl"))

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        text=True).strip())
    (site / "reuse-project-venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target",
                    str(site), str(wheel)], check=True, capture_output=True, timeout=300)

    (tmp_path / "test_from_wheel.py").write_text(PLUGIN_TEST)
    result = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_from_wheel.py"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
