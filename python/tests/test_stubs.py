"""The type stubs describe the compiled module: names, signatures and docstrings."""

import importlib.util
import inspect
import pathlib
import subprocess
import sys

import pytest

import logz
from logz import _logz

STUB = pathlib.Path(logz.__file__).with_name("_logz.pyi")


def test_stub_files_are_installed():
    assert STUB.exists()
    assert STUB.with_name("py.typed").exists()


def test_every_runtime_name_is_in_the_stub_and_back():
    text = STUB.read_text()
    for name in _logz.__all__:
        assert f"{name}" in text, name
    for name in ["Model", "Estimate", "solve", "compare", "sample", "fit", "learn", "train_van"]:
        assert name in _logz.__all__


def test_public_calls_are_documented():
    for f in [logz.solve, logz.compare, logz.sample, logz.fit, logz.learn, logz.meanfield,
              logz.train_van,
              logz.methods, logz.method_options]:
        assert inspect.getdoc(f), f.__name__
    for name in ["square", "chain", "triangular", "cubic", "complete", "sk", "er",
                 "from_file", "from_spec", "save", "with_beta"]:
        assert inspect.getdoc(getattr(logz.Model, name)), name


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")
def test_stubtest_passes():
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "logz._logz"],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
