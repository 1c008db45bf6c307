"""pyftpdlib's TLS_FTPHandler for the client's FTPS tests: one writable user, TLS required
on the control and the data connections. Usage: pyftpdlib_tls.py ROOT CERT KEY"""
import logging
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.servers import FTPServer

root, cert, key = sys.argv[1:4]
authorizer = DummyAuthorizer()
authorizer.add_user("bob", "pw", root, perm="elradfmwMT")
handler = TLS_FTPHandler
handler.authorizer = authorizer
handler.certfile = cert
handler.keyfile = key
handler.tls_control_required = True
handler.tls_data_required = True
# Logs ">>> starting FTP server on 127.0.0.1:PORT, pid=N <<<" once it listens.
logging.basicConfig(level=logging.INFO)
FTPServer(("127.0.0.1", 0), handler).serve_forever()
