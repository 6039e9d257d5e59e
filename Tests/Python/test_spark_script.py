"""Scripts/spark.sh's refusals, which need no Spark: bad arguments, a directory that already holds
a cluster, and `stop` leaving alone a recorded pid that is no longer this cluster's daemon."""
from __future__ import annotations

import os
import subprocess

import pytest

from conftest import REPO

SCRIPT = os.path.join(REPO, "Scripts", "spark.sh")


def spark_sh(*args):
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, says", [
    ((), "usage"),
    (("start",), "usage: Scripts/spark.sh start DIR"),
    (("start", "/tmp/x", "--workers", "0"), "--workers takes 1 to 99"),
    (("start", "/tmp/x", "--workers", "two"), "--workers takes 1 to 99"),
    (("start", "/tmp/x", "--bogus"), "unknown option --bogus"),
    (("start", "/tmp/x", "/tmp/y"), "one DIR only"),
])
def test_bad_arguments_are_refused_saying_why(args, says):
    p = spark_sh(*args)
    assert p.returncode != 0 and says in p.stderr


def test_a_directory_with_a_cluster_is_not_started_again(tmp_path):
    (tmp_path / "pids").write_text("master 1\n")
    p = spark_sh("start", str(tmp_path))
    assert p.returncode != 0
    # Without PySpark the script says to install it first; with it, that the directory is taken.
    assert "already holds a cluster" in p.stderr or "Scripts/spark.sh install" in p.stderr
    assert (tmp_path / "pids").read_text() == "master 1\n"


def test_stop_ends_only_this_clusters_daemons(tmp_path):
    bystander = subprocess.Popen(["sleep", "300"])
    try:
        (tmp_path / "pids").write_text(f"master {bystander.pid}\nworker-1 {bystander.pid}\n")
        p = spark_sh("stop", str(tmp_path))
        assert p.returncode == 0 and bystander.poll() is None and not (tmp_path / "pids").exists()
        assert spark_sh("stop", str(tmp_path)).stdout.startswith("spark: no cluster recorded")
    finally:
        bystander.kill()
        bystander.wait()
