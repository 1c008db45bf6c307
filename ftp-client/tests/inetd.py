"""A tiny inetd for servers that only run from inetd (GNU inetutils ftpd): listens on
127.0.0.1 (a free port, printed first), and runs SERVER for each connection with the socket
as its standard input and output.

Usage: inetd.py SERVER [ARGS...]"""

import socket
import subprocess
import sys

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)
while True:
    conn, _ = listener.accept()
    subprocess.Popen(sys.argv[1:], stdin=conn.fileno(), stdout=conn.fileno(),
                     stderr=subprocess.DEVNULL)
    conn.close()
