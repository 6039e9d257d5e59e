"""`python -m parley_courier CLUSTER_DIR MANIFEST.json OUT.json`: carries the manifest's
deliveries ([{"shard", "path", "url", "headers"}]) on the cluster Scripts/spark.sh started in
CLUSTER_DIR and writes their outcomes to OUT.json."""
from __future__ import annotations

import dataclasses
import json
import sys

from . import Accepted, Delivery, SparkCluster, deliver


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        deliveries = [Delivery(**d) for d in json.load(f)]
    outcomes = deliver(deliveries, SparkCluster.from_dir(argv[0]))
    rows = [{"kind": "accepted" if isinstance(o, Accepted) else "refused",
             **{k: (v.value if hasattr(v, "value") else v) for k, v in dataclasses.asdict(o).items()}} for o in outcomes]
    with open(argv[2], "w") as f:
        json.dump(rows, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
