"""A clone works anywhere: the tracked files alone, copied into an empty folder with no ../shared beside it
and no REFERENCE_DATA_DIR, configure, load the reference geography, pass `check` and build the demo with
its crime months. And nothing the app runs refers to ../shared any more."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from dashboard.config import PROJECT_ROOT

# How the app once found its data beside the checkout: "../shared/data", PROJECT_ROOT.parent / "shared" / ...
SHARED = re.compile(r"""\.\./shared|shared/data|/\s*["']shared["']""")


def _tracked() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached"], cwd=PROJECT_ROOT, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout (git ls-files failed)")
    return [name for name in listed.stdout.decode().split("\0") if name]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The tracked files only (what `git clone` gives), in an empty folder."""
    folder = tmp_path_factory.mktemp("fresh") / "clone"
    for name in _tracked():
        source = PROJECT_ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not there to copy
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    assert not (folder.parent / "shared").exists() and not (folder / "data" / "registry.db").exists()
    return folder


def _in_clone(clone: Path, *args: str) -> subprocess.CompletedProcess:
    """``python ARGS`` run in the clone, importing its own `dashboard`, with none of the settings that would
    point it elsewhere."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "REFERENCE_DATA_DIR",
            "REFERENCE_MANIFEST",
            "DATABASE_URL",
            "SECRET_KEY",
            "AUDIT_KEY",
            "EVIDENCE_DIR",
            "AUDIT_CHECKPOINT_FILE",
            "PYTHONPATH",
            "TILE_URL",
            "DEMO",
            "DEMO_REGISTRATIONS",
            "K_MIN",
            "GAP_MIN_CRIMES",
        }
    }
    return subprocess.run(
        [sys.executable, *args], cwd=clone, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_a_clone_with_nothing_beside_it_configures_checks_and_builds_the_demo(clone):
    probe = _in_clone(
        clone,
        "-c",
        (
            "import dashboard; from dashboard.runtime import prepare; rt = prepare(); "
            "print(dashboard.__file__); print(rt.settings.reference_data_dir); print(rt.settings.manifest_path); "
            "print(rt.reference.force_name, len(rt.reference.districts), len(rt.reference.small_areas)); "
            "print(rt.reference.sources_path)"
        ),
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    module, data_dir, manifest, force, sources = probe.stdout.strip().splitlines()
    assert Path(module).resolve().is_relative_to(clone.resolve())  # the clone's code, not this checkout's
    assert Path(data_dir) == (clone / "data" / "reference" / "staffordshire").resolve()
    assert Path(manifest) == (clone / "data" / "reference_manifest.toml").resolve()
    assert force == "Staffordshire 9 687"
    assert Path(sources) == (clone / "data" / "reference" / "staffordshire" / "SOURCES.md").resolve()

    check = _in_clone(clone, "-m", "dashboard", "check")
    assert check.returncode == 0 and "all checks passed" in check.stdout, check.stderr[-2000:]

    demo = _in_clone(clone, "-m", "dashboard", "demo", "--registrations", "50")
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "imported 12 police.uk crime files as admin.demo: 2,363 crimes" in demo.stdout
    engine = sa.create_engine(f"sqlite:///{clone / 'data' / 'registry.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM registrant")).scalar() == 50
        assert conn.execute(sa.text("SELECT count(*) FROM crime")).scalar() == 2363
    engine.dispose()


def test_nothing_the_app_runs_refers_to_a_shared_folder_beside_the_checkout():
    runs = [
        n
        for n in _tracked()
        if n.startswith(("dashboard/", "scripts/", "data/", "benchmarks/", "tests/", ".ci/"))
        or n in ("app.py", "pyproject.toml", "README.md")
    ]
    found = []
    for name in runs:
        path = PROJECT_ROOT / name
        if name.endswith((".py", ".sh", ".toml", ".md", ".html", ".js", ".cfg", ".ini", ".txt")) or name.startswith(
            ("scripts/", ".ci/")
        ):
            if name == "tests/integration/test_fresh_clone.py" or not path.is_file():
                continue
            found += [
                f"{name}:{i}"
                for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if SHARED.search(line)
            ]
    assert found == []
