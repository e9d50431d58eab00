import subprocess
import sys

import pytest

from ops import cli


@pytest.mark.parametrize("args,msg", [
    (["--set", "lake_uri=/x", "--set", "epoch=3"], "unknown training config keys: ['epoch']"),
    (["--set", "lake_uri=/nonexistent-lake"], "no published partitions"),
    (["--set", "lake_uri=/x", "--set", "lr=abc"], "lr must be float"),
])
def test_bad_config_exits_2_with_a_clear_message(args, msg, capsys):
    assert cli.main(["train", *args]) == 2
    assert msg in capsys.readouterr().err


def test_module_entry_point_help():
    r = subprocess.run([sys.executable, "-m", "ops.cli", "train", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--no-promote" in r.stdout
