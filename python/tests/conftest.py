"""Shared fixtures: the `logz` command line, for comparing the package with the CLI's JSON."""

import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _find_cli() -> pathlib.Path:
    """LOGZ_CLI if set, else the repository's release or debug build, else build it."""
    env = os.environ.get("LOGZ_CLI")
    if env:
        return pathlib.Path(env)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    for profile in ("release", "debug"):
        exe = target / profile / "logz"
        if exe.exists():
            return exe
    subprocess.run(
        ["cargo", "build", "--release", "-p", "logz-cli"], cwd=ROOT, check=True
    )
    return target / "release" / "logz"


@pytest.fixture(scope="session")
def cli():
    """Run `logz ARGS --json`-style commands and parse the JSON printed on stdout."""
    exe = _find_cli()

    def run(*args: str):
        out = subprocess.run(
            [str(exe), *args], capture_output=True, text=True, check=False
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    return run
