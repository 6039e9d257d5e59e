"""Scripts/bench.sh pyclient: seals and sends one CSV of about 143 MB with the Swift CLI
(`parley upload`) and with the Python client (`Party.upload`), in the same run, to the same
release `parley serve`, each to its own job; also the Python client's sealing alone. Prints TSV
(name, value, unit) and a summary. Usage: bench-pyclient.py BIN_DIR OUT_DIR [MEGABYTES]"""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "Sources", "Python"))
import parley_client  # noqa: E402
from parley_client import stream  # noqa: E402


def main() -> None:
    bin_dir, out_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    megabytes = int(sys.argv[3]) if len(sys.argv) > 3 else 143
    parley = os.path.join(bin_dir, "parley")
    d = tempfile.mkdtemp(prefix="parley-bench-py-")
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(d, "config"))

    def cli(*args):
        return subprocess.run([parley, *args], cwd=d, env=env, check=True, capture_output=True, text=True).stdout

    serve = None
    try:
        for k in ("brand", "retailer", "author"):
            cli("keygen", k)
        shutil.copy(os.path.join(REPO, "Enclave/Modules/campaign-lift/campaign-lift.toml"), d)
        cli("module", "seal", "campaign-lift.toml", "--key", "author.key")
        with open(os.path.join(d, "policy.toml"), "w") as f:
            f.write(f'quote = "software"\nmodule = "{cli("module", "measure", "campaign-lift.parley").strip()}"\n'
                    f'runtime = ["{cli("runtime", "measure").strip()}"]\nquoting_root = "host/quoting-root.pem"\n'
                    'log_key = "host/log-key.pub"\n')
        csv = os.path.join(d, "exposures.csv")
        target = megabytes * 1_000_000
        with open(csv, "w") as f:
            f.write("email_hash,campaign,region\n")
            i, size = 0, 0
            while size < target:
                lines = "".join(f"{hashlib.sha256(str(j).encode()).hexdigest()[:24]},c{j % 7},{j % 50}\n" for j in range(i, i + 100_000))
                f.write(lines)
                size += len(lines)
                i += 100_000
        nbytes = os.path.getsize(csv)
        serve = subprocess.Popen([parley, "serve", "--data", os.path.join(d, "host"), "--listen", "127.0.0.1:0"], cwd=d,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        url = None
        for line in serve.stdout:
            m = re.search(r"https?://127\.0\.0\.1:\d+", line)
            if m:
                url = m.group(0)
                break
        threading.Thread(target=lambda: [None for _ in serve.stdout], daemon=True).start()
        jobs = [cli("job", "launch", "campaign-lift.parley", "--server", url, "--data", "host").strip().split("\n")[-1] for _ in range(2)]

        t0 = time.perf_counter()
        cli("upload", "--server", url, "--job", jobs[0], "--dataset", "exposures", "--file", csv, "--key", "brand.key",
            "--policy", "policy.toml", "--quiet", "--state", "swift-state")
        swift_s = time.perf_counter() - t0

        with parley_client.Party(key=os.path.join(d, "brand.key"), policy=os.path.join(d, "policy.toml"), server=url,
                                 state=os.path.join(d, "py-state"), timeout=600) as brand:
            t0 = time.perf_counter()
            receipt = brand.upload(jobs[1], "exposures", csv, progress=False)
            python_s = time.perf_counter() - t0
            claims = brand.attest(jobs[1])
        assert receipt["rows"] == i, receipt  # every generated row reached the worker

        # Sealing alone (no network, no worker): read, seal, frame, into nothing.
        sealer = stream.StreamSealer(claims.public_key, stream.upload_info("bench", "exposures"))
        t0 = time.perf_counter()
        with open(csv, "rb") as f:
            for _ in stream.seal_file(f, sealer):
                pass
        seal_s = time.perf_counter() - t0

        rows = [("pyclient.csv_bytes", nbytes, "bytes"),
                ("pyclient.upload.swift", f"{nbytes / swift_s:.1f}", "bytes/s"),
                ("pyclient.upload.python", f"{nbytes / python_s:.1f}", "bytes/s"),
                ("pyclient.seal.python", f"{nbytes / seal_s:.1f}", "bytes/s")]
        with open(os.path.join(out_dir, "pyclient.tsv"), "w") as f:
            for r in rows:
                line = "\t".join(str(x) for x in r)
                print(line)
                f.write(line + "\n")
        print(f"\nupload of {nbytes / 1e6:.0f} MB, end to end (verify, seal, send, worker parses):"
              f"\n  Swift CLI   {nbytes / swift_s / 1e6:8.1f} MB/s"
              f"\n  Python      {nbytes / python_s / 1e6:8.1f} MB/s   Python/Swift {swift_s / python_s:.2f}"
              f"\n  Python sealing alone {nbytes / seal_s / 1e6:.1f} MB/s   target: 200 MB/s or more")
    finally:
        if serve and serve.poll() is None:
            serve.send_signal(2)
            serve.wait(30)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
