"""Parley's Spark courier (docs/spark.md): Apache Spark as an untrusted courier of sealed uploads.

The party seals (parley_client.Party.seal_upload) and hands the courier only what a courier may
see: a path to a ciphertext stream file, the host's URL and the upload's public headers. The
courier runs one Spark task per delivery and returns typed outcomes; the party then proves each
acceptance against the host's log (parley_client.Party.confirm_delivery). Nothing here imports
the party's code or holds a key.
"""
from .outcomes import Accepted, Delivery, Refusal, Refused, outcome_from_task
from .driver import CourierFailed, SparkCluster, deliver

__all__ = ["Accepted", "Delivery", "Refusal", "Refused", "outcome_from_task", "CourierFailed", "SparkCluster", "deliver"]
