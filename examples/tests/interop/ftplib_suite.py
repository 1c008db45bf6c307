"""Python's ftplib against the server under test: every everyday operation, checked.

Usage: ftplib_suite.py HOST PORT USER PASSWORD WORKDIR
Exits non-zero (with a traceback) on the first failure; prints OK at the end.
"""
import ftplib
import hashlib
import io
import os
import sys

host, port, user, password, workdir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]


def sha(data):
    return hashlib.sha256(data).hexdigest()


def download(ftp, name, rest=None):
    buf = io.BytesIO()
    ftp.retrbinary("RETR " + name, buf.write, rest=rest)
    return buf.getvalue()


def run(passive):
    ftp = ftplib.FTP()
    ftp.connect(host, port, timeout=20)
    ftp.login(user, password)
    ftp.set_pasv(passive)
    mode = "passive" if passive else "active"
    base = "ftplib-" + mode
    ftp.mkd(base)
    ftp.cwd(base)
    assert ftp.pwd() == "/" + base, ftp.pwd()

    # Upload and download with sha256 checks.
    payload = os.urandom(3 * 1024 * 1024 + 123)
    ftp.storbinary("STOR data.bin", io.BytesIO(payload))
    assert ftp.size("data.bin") == len(payload)
    assert sha(download(ftp, "data.bin")) == sha(payload)
    with open(os.path.join(workdir, base + "-data.bin"), "wb") as f:
        f.write(payload)

    # Resume a download from an offset.
    assert sha(download(ftp, "data.bin", rest=1000000)) == sha(payload[1000000:])

    # Resume an upload: REST + STOR from the remote size.
    ftp.storbinary("STOR resumed.bin", io.BytesIO(payload[:700000]))
    remote = ftp.size("resumed.bin")
    ftp.storbinary("STOR resumed.bin", io.BytesIO(payload[remote:]), rest=remote)
    assert sha(download(ftp, "resumed.bin")) == sha(payload)

    # Listings.
    names = ftp.nlst()
    assert sorted(names) == ["data.bin", "resumed.bin"], names
    lines = []
    ftp.retrlines("LIST", lines.append)
    assert len(lines) == 2 and all(l.startswith("-rw") for l in lines), lines
    facts = dict(ftp.mlsd())
    assert facts["data.bin"]["type"] == "file" and int(facts["data.bin"]["size"]) == len(payload), facts

    # Rename, delete, mkdir/rmdir.
    ftp.rename("resumed.bin", "renamed.bin")
    assert "renamed.bin" in ftp.nlst()
    ftp.delete("renamed.bin")
    assert "renamed.bin" not in ftp.nlst()
    ftp.mkd("sub dir")
    ftp.cwd("sub dir")
    ftp.cwd("..")
    ftp.rmd("sub dir")
    try:
        ftp.rmd("sub dir")
        raise AssertionError("RMD of a missing directory succeeded")
    except ftplib.error_perm as e:
        assert str(e).startswith("550"), e

    # ASCII mode: storlines sends CRLF, the file stores LF; retrlines reads lines back.
    text = "first line\nsecond line\nthird\n"
    ftp.storlines("STOR text.txt", io.BytesIO(text.encode()))
    ftp.voidcmd("TYPE I")
    assert download(ftp, "text.txt") == text.encode(), download(ftp, "text.txt")
    got = []
    ftp.retrlines("RETR text.txt", got.append)
    assert got == ["first line", "second line", "third"], got

    # Errors carry the server's reply.
    try:
        download(ftp, "missing.bin")
        raise AssertionError("RETR of a missing file succeeded")
    except ftplib.error_perm as e:
        assert str(e).startswith("550"), e
    ftp.quit()


run(passive=True)
run(passive=False)
print("OK")
