#!/usr/bin/env python3
"""Measures ftpd (ours), pyftpdlib, vsftpd and Pure-FTPd with the same tool (ftp-load) in one
run, on this machine, and prints the Markdown table of benches/README.md.

    cargo build --release -p ftp-examples --bin ftpd -p ftp-benches --bin ftp-load
    sudo python3 benches/compare.py [--quick] [--tls] [--servers PREFIX,...] [-- EXTRA FTP-LOAD ARGS]
    sudo python3 benches/compare.py --clients [--quick]

With --clients it compares client libraries instead: ours (in ftp-load), suppaftp (ftp-load
--client suppaftp), curl and lftp, each uploading one large file to vsftpd and downloading
it again (curl and lftp from the package registry, as scripts/test.sh installs them).

Each server serves a fresh temporary directory on 127.0.0.1 and is stopped (by its PID) at the
end. Two logins are measured where the server has both: a password user (ours hashes with
Argon2id, which bounds its login rate by design; pyftpdlib compares plain text) and anonymous.
vsftpd runs anonymous only (a password user would need a system account), and must start as
root. Then the same over FTPS (explicit AUTH TLS, PROT P, a self-signed certificate made by
openssl for the run, not checked): ftpd and pyftpdlib's TLS_FTPHandler with the
password user, vsftpd anonymous with ssl_enable=YES and require_ssl_reuse=YES. Needs pyftpdlib
and pyOpenSSL (pip), vsftpd (apt), openssl and Pure-FTPd unpacked into FTP_PEERS (default
/opt/ftp-peers), as scripts/test.sh installs them.
"""
import argparse
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


def parse_args(argv):
    """The options; anything after `--` goes to every ftp-load run unchanged."""
    own, extra = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv \
        else (argv, [])
    p = argparse.ArgumentParser(
        prog="compare.py", description=__doc__.split("\n\n")[0],
        epilog="Arguments after -- go to every ftp-load run (see ftp-load --help).")
    p.add_argument("--quick", action="store_true",
                   help="short phases and fewer sessions: a smoke run, not figures")
    p.add_argument("--tls", action="store_true",
                   help="only the FTPS rows, and ftpd's plain password row to read them against")
    p.add_argument("--clients", action="store_true",
                   help="compare the client libraries instead: ours, suppaftp, curl and lftp "
                        "uploading and downloading one large file to and from vsftpd")
    p.add_argument("--servers", type=lambda v: [x for x in v.split(",") if x], default=[],
                   metavar="PREFIX,...",
                   help='only the rows whose names start so ("ftpd,vsftpd"); a TLS row only '
                        'when its prefix says TLS')
    opts = p.parse_args(own)
    opts.extra = extra
    return opts


# Parsed at import, before anything starts: --help and a mistyped option end the run here.
OPTS = parse_args(sys.argv[1:])
QUICK, TLS_ONLY, SERVERS, EXTRA = OPTS.quick, OPTS.tls, OPTS.servers, OPTS.extra
SOURCE_IPS = "127.0.0.1-127.0.0.40"  # past per-address connection limits


def free_port(limit=10):
    """A port nothing listens on. Binding port 0 can fail with EADDRINUSE for a
    while after a phase that left tens of thousands of sockets in TIME_WAIT, so
    it is retried until `limit` seconds have passed."""
    start = time.time()
    while True:
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                return s.getsockname()[1]
        except OSError:
            if time.time() - start > limit:
                raise
            time.sleep(0.2)


def wait_port(port, limit=20):
    start = time.time()
    while time.time() - start < limit:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def make_cert(tmp):
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def start_ftpd(tmp, name, tls=None, flags=()):
    port = free_port()
    d = tmp / name
    d.mkdir()
    # For anonymous logins, which may not write: the directory the sessions list.
    (d / "list").mkdir()
    for i in range(100):
        (d / "list" / f"entry-{i:05}.txt").write_bytes(b"x" * 100)
    p = subprocess.Popen([release / "ftpd", "--bind", f"127.0.0.1:{port}", "--root", d,
                          "--user", "u:p", "--writable", "--anonymous",
                          "--max-connections", "12000", "--max-connections-per-ip", "2000",
                          "--max-sessions-per-user", "12000",
                          *(["--tls-cert", tls[0], "--tls-key", tls[1]] if tls else []),
                          *flags],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p, port, ""


def start_pyftpdlib(tmp, anonymous, tls=None):
    port = free_port()
    d = tmp / ("py-anon" if anonymous else "py-tls" if tls else "py")
    d.mkdir()
    handler = "TLS_FTPHandler" if tls else "FTPHandler"
    tls_lines = (f"h.certfile = {str(tls[0])!r}\nh.keyfile = {str(tls[1])!r}\n"
                 "h.tls_control_required = True\nh.tls_data_required = True\n") if tls else ""
    # The default limits (512 connections, 20 per address) would refuse the memory phase.
    script = (
        "import sys\n"
        "from pyftpdlib.authorizers import DummyAuthorizer\n"
        f"from pyftpdlib.handlers import {handler} as FTPHandler\n"
        "from pyftpdlib.servers import FTPServer\n"
        "a = DummyAuthorizer()\n"
        f"a.add_user('u', 'p', {str(d)!r}, perm='elradfmwMT')\n"
        f"a.add_anonymous({str(d)!r}, perm='elradfmwMT')\n"
        "h = FTPHandler\nh.authorizer = a\n" + tls_lines +
        f"s = FTPServer(('127.0.0.1', {port}), h)\n"
        "s.max_cons = 12000\ns.max_cons_per_ip = 0\ns.serve_forever()\n"
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_port(port)
    return p, port, ""


def start_vsftpd(tmp, tls=None):
    port = free_port()
    d = tmp / ("vs-tls" if tls else "vs") / "root"
    (d / "pub").mkdir(parents=True)
    shutil.chown(d / "pub", "ftp", "ftp")
    os.chmod(d.parent, 0o755)
    os.chmod(tmp, 0o755)
    os.makedirs("/var/run/vsftpd/empty", exist_ok=True)
    conf = d.parent / "vsftpd.conf"
    ssl = (f"ssl_enable=YES\nallow_anon_ssl=YES\nforce_anon_logins_ssl=YES\n"
           f"force_anon_data_ssl=YES\nrequire_ssl_reuse=YES\nssl_tlsv1=NO\n"
           f"rsa_cert_file={tls[0]}\nrsa_private_key_file={tls[1]}\n") if tls else ""
    conf.write_text(ssl +
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


def start_pureftpd(tmp, anonymous):
    """Pure-FTPd unpacked by scripts/test.sh into FTP_PEERS (its Debian package conflicts with
    vsftpd's): a PureDB user u/p, and with `anonymous` an anonymous login as well, whose root
    is the home of an `ftp` user given to it in a private mount namespace (an /etc/passwd bound
    over the real one for its process only). The user's hash is SHA-512 crypt: pure-pw's
    default Argon2id (m=8 MiB, t=511) takes seconds per login on this machine."""
    peers = pathlib.Path(os.environ.get("FTP_PEERS", "/opt/ftp-peers")) / "pure-ftpd"
    binary = peers / "usr" / "sbin" / "pure-ftpd"
    if not binary.exists():
        sys.exit(f"{binary} is missing: run scripts/test.sh once (it unpacks Pure-FTPd)")
    port = free_port()
    d = tmp / ("pure-anon" if anonymous else "pure")
    d.mkdir()
    os.chmod(tmp, 0o755)
    uid = 2121
    os.chown(d, uid, uid)
    etc = tmp / f"pure-etc-{port}"
    etc.mkdir()
    hashed = subprocess.run(["openssl", "passwd", "-6", "p"], capture_output=True, text=True,
                            check=True).stdout.strip()
    # pure-pw's passwd format: name:hash:uid:gid:gecos:home/./:then limits, empty.
    (etc / "pureftpd.passwd").write_text(f"u:{hashed}:{uid}:{uid}::{d}/./" + ":" * 12 + "\n")
    subprocess.run([peers / "usr" / "bin" / "pure-pw", "mkdb", etc / "pureftpd.pdb", "-f",
                    etc / "pureftpd.passwd"], check=True, stdout=subprocess.DEVNULL)
    args = [binary, "-S", f"127.0.0.1,{port}", "-4", "-l", f"puredb:{etc / 'pureftpd.pdb'}",
            "-H", "-c", "20000", "-C", "20000", "-p", "40000:50000", "-f", "none"]
    if anonymous:
        passwd = [l for l in pathlib.Path("/etc/passwd").read_text().splitlines()
                  if not l.startswith("ftp:")]
        group = [l for l in pathlib.Path("/etc/group").read_text().splitlines()
                 if not l.startswith("ftp:")]
        (etc / "passwd").write_text("\n".join(passwd + [f"ftp:x:{uid}:{uid}::{d}:/bin/false"]) + "\n")
        (etc / "group").write_text("\n".join(group + [f"ftp:x:{uid}:"]) + "\n")
        script = ('mount --bind "$0/passwd" /etc/passwd && mount --bind "$0/group" /etc/group '
                  '&& exec "$@"')
        cmd = ["unshare", "-m", "sh", "-c", script, etc, *args, "-M"]
    else:
        cmd = [*args, "-E"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p, port, ""


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
    # An aggregate over fewer streams than asked for is not the same figure: say so.
    concurrent = fmt(conc.get("aggregate_mib_s"))
    if conc.get("failed"):
        concurrent += f" ({conc['failed']} of {conc.get('streams')} streams failed)"
    return (f"| {name} | {fmt(single.get('stor_mib_s'))} | {fmt(single.get('retr_mib_s'))} | "
            f"{concurrent} | {fmt(sess.get('sessions_per_s'), 1)} "
            f"({fmt(sess.get('p50_ms'), 0)} / {fmt(sess.get('p99_ms'), 0)}) | "
            f"{fmt(small.get('stor_files_s'))} / {fmt(small.get('retr_files_s'))} | "
            f"{fmt(mem.get('rss_kib_per_session'), 2)} / {fmt(mem.get('pss_kib_per_session'), 2)} "
            f"({mem.get('opened', '-')}) |")


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    return xs[len(xs) // 2] if xs else None


def timed_tool(cmd, size, overhead=0.0):
    """Runs a client program; MiB/s from what it says (curl's -w speed) or else from the wall
    clock less `overhead` (lftp's start and login, timed apart: it prints no rate with -c)."""
    start = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - start
    if out.returncode != 0:
        print(f"{cmd[0]} failed ({out.returncode}): {out.stderr.strip()[:300]}", file=sys.stderr)
        return None
    text = out.stdout + out.stderr
    m = re.search(r"^speed (\d+(?:\.\d+)?)$", text, re.M)
    if m:
        return float(m.group(1)) / (1 << 20)
    return size / (1 << 20) / max(wall - overhead, 1e-3)


def wall_seconds(cmd):
    start = time.monotonic()
    subprocess.run(cmd, capture_output=True, timeout=60, check=True)
    return time.monotonic() - start


def compare_clients():
    """Each client uploads a file of --size-mib to vsftpd (anonymous, on the temporary
    directory) and downloads it again, three rounds alternating; medians. Ours and suppaftp
    run inside ftp-load (the same block written, the same 256 KiB buffer read, the clock from
    STOR or RETR to the final reply); curl and lftp read the upload from a file of the
    temporary directory and write the download to /dev/null, and report their own rates."""
    size_mib = 32 if QUICK else 1024
    rounds = 1 if QUICK else 3
    rates = {c: {"up": [], "down": []} for c in ("ours", "suppaftp", "curl", "lftp")}
    with tempfile.TemporaryDirectory() as t:
        tmp = pathlib.Path(t)
        proc, port, directory = start_vsftpd(tmp)
        pub = tmp / "vs" / "root" / "pub"
        src = tmp / "upload.bin"
        block = os.urandom(1 << 20)
        with open(src, "wb") as f:
            for _ in range(size_mib):
                f.write(block)
        url = f"ftp://127.0.0.1:{port}/{directory}"
        try:
            for i in range(rounds):
                print(f"round {i + 1} of {rounds} ...", file=sys.stderr)
                for client in ("ours", "suppaftp"):
                    out = subprocess.run(
                        [release / "ftp-load", "--port", str(port), "--user", "anonymous",
                         "--password", "x@", "--dir", directory, "--only", "stor,retr",
                         "--size-mib", str(size_mib), "--client", client, "--json", *EXTRA],
                        capture_output=True, text=True, timeout=1200)
                    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
                    single = json.loads(last).get("phases", {}).get("single", {})
                    if not single:
                        print(f"ftp-load --client {client}: {out.stderr.strip()[-300:]}",
                              file=sys.stderr)
                    rates[client]["up"].append(single.get("stor_mib_s"))
                    rates[client]["down"].append(single.get("retr_mib_s"))
                rates["curl"]["up"].append(timed_tool(
                    ["curl", "-sS", "-T", str(src), f"{url}/curl.bin", "-w",
                     "speed %{speed_upload}\n"], size_mib << 20))
                rates["curl"]["down"].append(timed_tool(
                    ["curl", "-sS", "-o", "/dev/null", f"{url}/curl.bin", "-w",
                     "speed %{speed_download}\n"], size_mib << 20))
                lftp = ["lftp", "-c"]
                login = (f"set cmd:fail-exit yes; set xfer:clobber on; "
                         f"open -u anonymous,x@ -p {port} 127.0.0.1")
                # What lftp costs around a transfer: start, connect, login (NOOP makes it
                # connect; it is lazy), QUIT. The best of three.
                overhead = min(wall_seconds(lftp + [f"{login}; quote NOOP"]) for _ in range(3))
                rates["lftp"]["up"].append(timed_tool(
                    lftp + [f"{login}; put {src} -o {directory}/lftp.bin"], size_mib << 20,
                    overhead))
                rates["lftp"]["down"].append(timed_tool(
                    lftp + [f"{login}; get {directory}/lftp.bin -o /dev/null"], size_mib << 20,
                    overhead))
                for name in ("curl.bin", "lftp.bin"):
                    (pub / name).unlink(missing_ok=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"| client, against vsftpd 3.0 ({size_mib} MiB, median of {rounds}) "
          "| upload MiB/s | download MiB/s | all rounds up / down |")
    print("| --- | --- | --- | --- |")
    names = {"ours": "ftp-client (ours)", "suppaftp": "suppaftp 12", "curl": "curl",
             "lftp": "lftp"}
    for c, r in rates.items():
        every = " / ".join(", ".join(fmt(x) for x in r[k]) for k in ("up", "down"))
        print(f"| {names[c]} | {fmt(median(r['up']))} | {fmt(median(r['down']))} | {every} |")


def main():
    if OPTS.clients:
        compare_clients()
        return
    results = []
    with tempfile.TemporaryDirectory() as t:
        tmp = pathlib.Path(t)
        tls = make_cert(tmp)
        # The certificate is openssl's self-signed CA one, which webpki will not take for a
        # server's own: unchecked (the bench measures the cost of TLS, not of the check).
        over_tls = ["--tls", "--insecure"]
        # ftpd's anonymous users are read-only: only sessions (listing the prepared directory)
        # and memory are measured for them.
        read_only = ["--only", "sessions,memory", "--list-dir", "list"]
        runs = [
            ("ftpd, password (Argon2id)", lambda: start_ftpd(tmp, "ftpd"), "u", "p", []),
            # The copying path of downloads, for the zero-copy one's ratio in the same run.
            ("ftpd, password, sendfile off",
             lambda: start_ftpd(tmp, "ftpd-copy", flags=["--no-zero-copy"]), "u", "p",
             ["--only", "retr,concurrent"]),
            ("ftpd, anonymous", lambda: start_ftpd(tmp, "ftpd-anon"), "anonymous", "x@",
             read_only),
            ("pyftpdlib 2.2, password", lambda: start_pyftpdlib(tmp, False), "u", "p", []),
            ("pyftpdlib 2.2, anonymous", lambda: start_pyftpdlib(tmp, True), "anonymous", "x@",
             []),
            ("vsftpd 3.0, anonymous", lambda: start_vsftpd(tmp), "anonymous", "x@", []),
            ("Pure-FTPd 1.0, password", lambda: start_pureftpd(tmp, False), "u", "p", []),
            ("Pure-FTPd 1.0, anonymous", lambda: start_pureftpd(tmp, True), "anonymous", "x@",
             []),
            ("ftpd, password, TLS", lambda: start_ftpd(tmp, "ftpd-tls", tls), "u", "p",
             over_tls),
            ("pyftpdlib 2.2, password, TLS", lambda: start_pyftpdlib(tmp, False, tls), "u", "p",
             over_tls),
            ("vsftpd 3.0, anonymous, TLS", lambda: start_vsftpd(tmp, tls), "anonymous", "x@",
             over_tls),
        ]
        if TLS_ONLY:
            runs = [r for r in runs if r[0] == "ftpd, password (Argon2id)" or "TLS" in r[0]]
        if SERVERS:
            # A TLS row only when its prefix says TLS.
            runs = [r for r in runs
                    if any(r[0].startswith(p) and ("TLS" in p or "TLS" not in r[0])
                           for p in SERVERS)]
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
