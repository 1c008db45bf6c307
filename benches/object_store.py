#!/usr/bin/env python3
"""Measures ftpd on the object-store back-end against the same S3 server used directly, in one
run on this machine, and prints the Markdown table of benches/README.md.

    cargo build --release -p ftp-examples --bin ftpd -p ftp-benches --bin ftp-load
    python3 benches/object_store.py [--quick] [--rounds N]

The S3 server is moto's (pip install 'moto[server]', as scripts/test.sh does), on 127.0.0.1,
started and stopped (by its PID) here. Through FTP: ftp-load against `ftpd --storage
s3://bench/ftp --s3-endpoint ...` (single-stream STOR and RETR of one file, then sessions:
connect, login, PWD, EPSV, LIST of 100 objects, QUIT). Directly: boto3 (what `aws s3` uses)
against the same server, with the same part size as ftpd's (8 MiB, two in flight): a
multipart upload and a streaming download of a file of the same size, and "sessions" made of
a new client (a new connection) listing the same 100 objects. Medians over the rounds.
"""
import concurrent.futures
import hashlib
import json
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from compare import free_port, wait_port  # noqa: E402  (one copy of the port helpers)

root = pathlib.Path(__file__).resolve().parent.parent
release = root / "target" / "release"
QUICK = "--quick" in sys.argv
ROUNDS = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
SIZE_MIB = 64 if QUICK else 256
SESSION_SECONDS = 3 if QUICK else 8
WORKERS = 8
BUCKET = "bench"
ENV = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
       "AWS_REGION": "us-east-1"}


def client(endpoint):
    import boto3
    import botocore.config
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="bench",
                        aws_secret_access_key="bench", region_name="us-east-1",
                        config=botocore.config.Config(retries={"max_attempts": 1}))


def direct(endpoint, block):
    """boto3 alone: (upload MiB/s, download MiB/s, sessions/s)."""
    from boto3.s3.transfer import TransferConfig
    s3 = client(endpoint)
    cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20,
                         max_concurrency=2, use_threads=True)

    class Repeat:
        """SIZE_MIB MiB of `block`, read as a file."""
        def __init__(self):
            self.left = SIZE_MIB << 20

        def read(self, n=-1):
            n = self.left if n is None or n < 0 else min(n, self.left)
            out = (block * (n // len(block) + 1))[:n]
            self.left -= n
            return out

    start = time.time()
    s3.upload_fileobj(Repeat(), BUCKET, "direct/big.bin", Config=cfg)
    up = SIZE_MIB / (time.time() - start)
    start = time.time()
    body = s3.get_object(Bucket=BUCKET, Key="direct/big.bin")["Body"]
    got = 0
    while True:
        chunk = body.read(1 << 20)
        if not chunk:
            break
        got += len(chunk)
    down = (got >> 20) / (time.time() - start)
    assert got == SIZE_MIB << 20, got

    count, stop, lock = [0], time.time() + SESSION_SECONDS, threading.Lock()

    def worker():
        while time.time() < stop:
            c = client(endpoint)  # a new connection, as a new FTP session is
            listed = c.list_objects_v2(Bucket=BUCKET, Prefix="ftp/list/", Delimiter="/")
            assert listed["KeyCount"] == 100, listed["KeyCount"]
            with lock:
                count[0] += 1

    start = time.time()
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        for f in [pool.submit(worker) for _ in range(WORKERS)]:
            f.result()
    return up, down, count[0] / (time.time() - start)


def through_ftpd(port, pid):
    args = [release / "ftp-load", "--port", str(port), "--user", "u", "--password", "p",
            "--pid", str(pid), "--json", "--only", "stor,retr,sessions",
            "--size-mib", str(SIZE_MIB), "--workers", str(WORKERS),
            "--session-seconds", str(SESSION_SECONDS), "--list-dir", "list"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
    ph = json.loads(line).get("phases", {})
    single, sess = ph.get("single", {}), ph.get("sessions", {})
    if not single or not sess:
        raise RuntimeError(f"ftp-load: {out.stdout[-2000:]} {out.stderr[-2000:]}")
    return single["stor_mib_s"], single["retr_mib_s"], sess["sessions_per_s"]


def main():
    s3_port, ftp_port = free_port(), free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(s3_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ftpd = None
    try:
        wait_port(s3_port)
        endpoint = f"http://127.0.0.1:{s3_port}"
        s3 = client(endpoint)
        s3.create_bucket(Bucket=BUCKET)
        for i in range(100):
            s3.put_object(Bucket=BUCKET, Key=f"ftp/list/f{i:03}", Body=b"x" * 100)
        ftpd = subprocess.Popen([release / "ftpd", "--bind", f"127.0.0.1:{ftp_port}",
                                 "--storage", f"s3://{BUCKET}/ftp", "--s3-endpoint", endpoint,
                                 "--user", "u:p", "--writable", "--max-connections", "4096",
                                 "--max-connections-per-ip", "4096",
                                 "--max-unauthenticated-per-ip", "4096",
                                 "--max-sessions-per-user", "4096"],
                                env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(ftp_port)
        block = hashlib.sha256(b"bench").digest() * (1 << 15)  # 1 MiB
        ftp_rows, s3_rows = [], []
        for _ in range(ROUNDS):
            ftp_rows.append(through_ftpd(ftp_port, ftpd.pid))
            s3_rows.append(direct(endpoint, block))
        med = lambda rows, i: statistics.median(r[i] for r in rows)
        print(f"{ROUNDS} round(s), {SIZE_MIB} MiB, {WORKERS} session workers, "
              f"{SESSION_SECONDS} s of sessions")
        print()
        print("| path | STOR / upload MiB/s | RETR / download MiB/s | sessions/s |")
        print("| --- | --- | --- | --- |")
        print(f"| ftpd --storage s3:// (ftp-load) | {med(ftp_rows, 0):,.0f} | "
              f"{med(ftp_rows, 1):,.0f} | {med(ftp_rows, 2):,.1f} |")
        print(f"| boto3 straight to the S3 server | {med(s3_rows, 0):,.0f} | "
              f"{med(s3_rows, 1):,.0f} | {med(s3_rows, 2):,.1f} |")
        print(f"| ratio | {med(ftp_rows, 0) / med(s3_rows, 0):.2f} | "
              f"{med(ftp_rows, 1) / med(s3_rows, 1):.2f} | "
              f"{med(ftp_rows, 2) / med(s3_rows, 2):.2f} |")
    finally:
        for p in (ftpd, moto):
            if p:
                p.kill()
                p.wait()


if __name__ == "__main__":
    main()
