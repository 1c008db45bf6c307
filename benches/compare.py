#!/usr/bin/env python3
"""Measures ftpd (ours), pyftpdlib and vsftpd with the same tool (ftp-load) in one run, on this
machine, and prints the Markdown table of benches/README.md.

    cargo build --release -p ftp-examples --bin ftpd -p ftp-benches --bin ftp-load
    sudo python3 benches/compare.py [--quick] [-- EXTRA FTP-LOAD ARGS]

Each server serves a fresh temporary directory on 127.0.0.1 and is stopped (by its PID) at the
end. Two logins are measured where the server has both: a password user (ours hashes with
Argon2id, which bounds its login rate by design; pyftpdlib compares plain text) and anonymous.
vsftpd runs anonymous only (a password user would need a system account), and must start as
root. Needs pyftpdlib (pip) and vsftpd (apt), as scripts/test.sh installs them.
"""
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

root = pathlib.Path(__file__).resolve().parent.parent
release = root / "target" / "release"
QUICK = "--quick" in sys.argv
EXTRA = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
SOURCE_IPS = "127.0.0.1-127.0.0.40"  # past per-address connection limits


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, limit=20):
    start = time.time()
    while time.time() - start < limit:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def start_ftpd(tmp, name):
    port = free_port()
    d = tmp / name
    d.mkdir()
    # For anonymous logins, which may not write: the directory the sessions list.
    (d / "list").mkdir()
    for i in range(100):
        (d / "list" / f"entry-{i:05}.txt").write_bytes(b"x" * 100)
    p = subprocess.Popen([release / "ftpd", "--bind", f"127.0.0.1:{port}", "--root", d,
                          "--user", "u:p", "--writable", "--anonymous",
                          "--max-connections", "12000", "--max-connections-per-ip", "2000"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p, port, ""


def start_pyftpdlib(tmp, anonymous):
    port = free_port()
    d = tmp / ("py-anon" if anonymous else "py")
    d.mkdir()
    # The default limits (512 connections, 20 per address) would refuse the memory phase.
    script = (
        "import sys\n"
        "from pyftpdlib.authorizers import DummyAuthorizer\n"
        "from pyftpdlib.handlers import FTPHandler\n"
        "from pyftpdlib.servers import FTPServer\n"
        "a = DummyAuthorizer()\n"
        f"a.add_user('u', 'p', {str(d)!r}, perm='elradfmwMT')\n"
        f"a.add_anonymous({str(d)!r}, perm='elradfmwMT')\n"
        "h = FTPHandler\nh.authorizer = a\n"
        f"s = FTPServer(('127.0.0.1', {port}), h)\n"
        "s.max_cons = 12000\ns.max_cons_per_ip = 0\ns.serve_forever()\n"
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_port(port)
    return p, port, ""


def start_vsftpd(tmp):
    port = free_port()
    d = tmp / "vs" / "root"
    (d / "pub").mkdir(parents=True)
    shutil.chown(d / "pub", "ftp", "ftp")
    os.chmod(tmp / "vs", 0o755)
    os.chmod(tmp, 0o755)
    os.makedirs("/var/run/vsftpd/empty", exist_ok=True)
    conf = tmp / "vs" / "vsftpd.conf"
    conf.write_text(
        f"listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port={port}\n"
        f"background=NO\nanonymous_enable=YES\nlocal_enable=NO\nanon_root={d}\n"
        "no_anon_password=YES\nwrite_enable=YES\nanon_upload_enable=YES\n"
        "anon_mkdir_write_enable=YES\nanon_other_write_enable=YES\nanon_umask=022\n"
        "seccomp_sandbox=NO\npasv_enable=YES\nport_enable=YES\nconnect_from_port_20=NO\n"
        "xferlog_enable=NO\ndirmessage_enable=NO\nuse_localtime=NO\nmax_clients=0\n"
        "max_per_ip=0\nsecure_chroot_dir=/var/run/vsftpd/empty\n")
    p = subprocess.Popen(["/usr/sbin/vsftpd", conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_port(port)
    return p, port, "pub"


def load(port, pid, user, password, directory, extra=()):
    args = [release / "ftp-load", "--port", str(port), "--user", user, "--password", password,
            "--pid", str(pid), "--json", "--source-ips", SOURCE_IPS, *extra]
    if directory:
        args += ["--dir", directory]
    if QUICK:
        args += ["--size-mib", "32", "--streams", "8", "--stream-mib", "4", "--session-seconds",
                 "3", "--idle-sessions", "200", "--small-files", "200"]
    out = subprocess.run(args + EXTRA, capture_output=True, text=True, timeout=1800)
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
    return json.loads(line)


def fmt(v, digits=0):
    return "-" if v is None else f"{v:,.{digits}f}"


def row(name, r):
    ph = r.get("phases", {})
    single, conc = ph.get("single", {}), ph.get("concurrent", {})
    sess, mem, small = ph.get("sessions", {}), ph.get("memory", {}), ph.get("small", {})
    return (f"| {name} | {fmt(single.get('stor_mib_s'))} | {fmt(single.get('retr_mib_s'))} | "
            f"{fmt(conc.get('aggregate_mib_s'))} | {fmt(sess.get('sessions_per_s'), 1)} "
            f"({fmt(sess.get('p50_ms'), 0)} / {fmt(sess.get('p99_ms'), 0)}) | "
            f"{fmt(small.get('stor_files_s'))} / {fmt(small.get('retr_files_s'))} | "
            f"{fmt(mem.get('rss_kib_per_session'), 2)} / {fmt(mem.get('pss_kib_per_session'), 2)} "
            f"({mem.get('opened', '-')}) |")


def main():
    results = []
    with tempfile.TemporaryDirectory() as t:
        tmp = pathlib.Path(t)
        # ftpd's anonymous users are read-only: only sessions (listing the prepared directory)
        # and memory are measured for them.
        read_only = ["--only", "sessions,memory", "--list-dir", "list"]
        runs = [
            ("ftpd, password (Argon2id)", lambda: start_ftpd(tmp, "ftpd"), "u", "p", []),
            ("ftpd, anonymous", lambda: start_ftpd(tmp, "ftpd-anon"), "anonymous", "x@",
             read_only),
            ("pyftpdlib 2.2, password", lambda: start_pyftpdlib(tmp, False), "u", "p", []),
            ("pyftpdlib 2.2, anonymous", lambda: start_pyftpdlib(tmp, True), "anonymous", "x@",
             []),
            ("vsftpd 3.0, anonymous", lambda: start_vsftpd(tmp), "anonymous", "x@", []),
        ]
        for name, start, user, password, extra in runs:
            proc, port, directory = start()
            try:
                print(f"measuring {name} on port {port} ...", file=sys.stderr)
                results.append((name, load(port, proc.pid, user, password, directory, extra)))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    print("| server | STOR MiB/s | RETR MiB/s | 64 × RETR MiB/s | sessions/s (p50 / p99 ms) "
          "| small files/s up / down | KiB per idle session RSS / PSS (sessions) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results:
        print(row(name, r))
    for name, r in results:
        if not r.get("ok", False):
            print(f"\n{name}: {json.dumps(r.get('notes'))}", file=sys.stderr)


if __name__ == "__main__":
    main()
