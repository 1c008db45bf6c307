"""Python's ftplib.FTP_TLS against ftpd with FTPS. Usage:
ftplib_tls.py HOST PORT USER PASSWORD CAFILE WORKDIR MODE

MODE "reuse": a session-reusing subclass (what the server's reuse requirement needs) moves
files byte for byte in passive and active mode, and plain FTP_TLS is refused with a clear
425. MODE "plain": the server does not require reuse, and plain FTP_TLS works.
Prints OK when every check passed."""
import ftplib
import io
import os
import ssl
import sys

host, port, user, password, cafile, work, mode = sys.argv[1:8]
port = int(port)
context = ssl.create_default_context(cafile=cafile)


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """Data connections resume the control connection's TLS session (cpython#63699)."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(
                conn, server_hostname=self.host, session=self.sock.session
            )
        return conn, size


def session(cls):
    ftp = cls(context=context, timeout=20)
    ftp.connect(host, port)
    ftp.auth()
    ftp.login(user, password)
    ftp.prot_p()
    return ftp


def exercise(ftp, tag):
    payload = os.urandom(1024 * 1024 + 333)
    with open(os.path.join(work, f"{tag}.bin"), "wb") as f:
        f.write(payload)
    for passive in (True, False):
        ftp.set_pasv(passive)
        name = f"{tag}-{'pasv' if passive else 'port'}.bin"
        ftp.storbinary(f"STOR {name}", io.BytesIO(payload))
        got = io.BytesIO()
        ftp.retrbinary(f"RETR {name}", got.write)
        assert got.getvalue() == payload, f"{name} differs"
        assert ftp.size(name) == len(payload)
        assert name in ftp.nlst(), ftp.nlst()
    ftp.set_pasv(True)


if mode == "reuse":
    plain = session(ftplib.FTP_TLS)
    try:
        plain.nlst()
        raise SystemExit("a data connection that did not resume the session was accepted")
    except (ssl.SSLError, OSError, ftplib.Error):
        pass
    # The control connection says why, and stays usable.
    try:
        reply = plain.getresp()
        raise SystemExit(f"expected a refusal, got {reply}")
    except ftplib.error_temp as e:
        assert str(e).startswith("425") and "not resumed" in str(e), str(e)
    assert plain.voidcmd("NOOP").startswith("200")
    plain.quit()
    ftp = session(ReusingFTP_TLS)
    exercise(ftp, "reuse")
    ftp.quit()
else:
    ftp = session(ftplib.FTP_TLS)
    exercise(ftp, "noreuse")
    ftp.quit()
print("OK")
