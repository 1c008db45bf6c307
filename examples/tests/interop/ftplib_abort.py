"""ftplib's abort() mid-RETR and mid-STOR against ftpd: abort() sends ABOR with MSG_OOB (its LF
is TCP urgent data), expects 426, 225 or 226, and the session must stay usable.

Usage: ftplib_abort.py HOST PORT USER PASSWORD; prints OK and the sha256 of big.bin."""

import hashlib
import io
import sys
from ftplib import FTP

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

# A timeout so that a server that never answers the ABOR fails the test instead of hanging it.
ftp = FTP()
ftp.connect(host, port, timeout=15)
ftp.login(user, password)
ftp.voidcmd("TYPE I")


def after_abort(first):
    # The reply to the transfer command is 426 and the ABOR's own is 226 (RFC 959 §4.1.3);
    # abort() reads the first, the second follows.
    assert first.startswith("426"), first
    second = ftp.getresp()
    assert second.startswith("226"), second


# Mid-RETR: read a little of a big file, then abort.
conn = ftp.transfercmd("RETR big.bin")
got = conn.recv(65536)
assert got, "some data before the abort"
after_abort(ftp.abort())
conn.close()
assert ftp.voidcmd("NOOP").startswith("200")

# Mid-STOR: send a little, then abort.
conn = ftp.transfercmd("STOR partial.bin")
conn.sendall(b"x" * 65536)
after_abort(ftp.abort())
conn.close()
assert ftp.voidcmd("NOOP").startswith("200")

# The session still transfers whole files.
buf = io.BytesIO()
ftp.retrbinary("RETR big.bin", buf.write)
ftp.storbinary("STOR whole.bin", io.BytesIO(b"whole file\n"))
ftp.quit()
print("OK", hashlib.sha256(buf.getvalue()).hexdigest())
