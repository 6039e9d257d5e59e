"""The Spark driver: one task per delivery on a standalone cluster started by Scripts/spark.sh."""
from __future__ import annotations

import dataclasses
import os
import sys

from . import task as _task
from .outcomes import Accepted, Delivery, Refused, outcome_from_task


class CourierFailed(Exception):
    """The Spark job failed (a task failed `spark.task.maxFailures` times). The message is
    Spark's summary with no task output."""


@dataclasses.dataclass(frozen=True)
class SparkCluster:
    """A cluster's master URL and its properties file (with the shared secret), as
    `Scripts/spark.sh start DIR` writes them: `SparkCluster.from_dir(DIR)`."""
    master: str
    properties_file: str
    local_dir: str

    @staticmethod
    def from_dir(d: str) -> "SparkCluster":
        with open(os.path.join(d, "master-url")) as f:
            master = f.read().strip()
        local = os.path.join(d, "driver")
        os.makedirs(local, exist_ok=True)
        return SparkCluster(master, os.path.join(d, "spark.conf"), local)

    def properties(self) -> dict:
        out = {}
        with open(self.properties_file) as f:
            for line in f:
                k, _, v = line.strip().partition(" ")
                if k and not k.startswith("#"):
                    out[k] = v.strip()
        return out


# What makes the courier safe to retry and never race itself (docs/spark.md, "Retries").
COURIER_CONF = {
    "spark.speculation": "false",        # never two attempts of one delivery at once
    "spark.task.maxFailures": "4",       # an executor lost mid-delivery: the task runs again
    "spark.authenticate": "true",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.executor.cores": "1",
    "spark.executor.memory": "512m",
    "spark.eventLog.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


def deliver(deliveries: list[Delivery], cluster: SparkCluster, app_name: str = "parley-courier") -> list[Accepted | Refused]:
    """Carries every delivery, one Spark task (one partition) each, and returns their outcomes
    in shard order. Raises CourierFailed if Spark gives up on a task."""
    from pyspark import SparkConf, SparkContext
    from pyspark import cloudpickle

    if len({d.shard for d in deliveries}) != len(deliveries):
        raise ValueError("each delivery has its own shard index")
    cloudpickle.register_pickle_by_value(_task)  # executors need no Parley code installed
    conf = SparkConf().setMaster(cluster.master).setAppName(app_name)
    for k, v in {**COURIER_CONF, "spark.local.dir": cluster.local_dir, "spark.pyspark.python": sys.executable}.items():
        conf.set(k, v)
    # The secret reaches the driver JVM from the cluster's 0600 properties file: PySpark passes
    # every SparkConf entry to spark-submit as a --conf argument, which any user could read in
    # the process list.
    if "spark.authenticate.secret" not in cluster.properties():
        raise ValueError(f"{cluster.properties_file} holds no spark.authenticate.secret")
    os.environ["PYSPARK_SUBMIT_ARGS"] = f"--properties-file {cluster.properties_file} pyspark-shell"
    sc = SparkContext(conf=conf)
    try:
        sc.setLogLevel("WARN")
        tasks = [d.as_task() for d in sorted(deliveries, key=lambda d: d.shard)]
        rdd = sc.parallelize(tasks, numSlices=len(tasks))
        try:
            results = rdd.map(_task.deliver_one).collect()
        except Exception as e:  # py4j's Py4JJavaError: Spark's job failure
            raise CourierFailed(f"the Spark job failed: {type(e).__name__}") from None
    finally:
        sc.stop()
    return [outcome_from_task(r) for r in results]
