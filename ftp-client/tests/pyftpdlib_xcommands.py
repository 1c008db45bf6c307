"""pyftpdlib extended with the legacy checksum commands as Serv-U and FlashFXP-era servers
answer them (XCRC, XMD5, XSHA1, XSHA256: "250 HEX", upper case), without HASH and without
listing them in FEAT, for the client's fallback from HASH. Usage: pyftpdlib_xcommands.py ROOT"""
import hashlib
import logging
import os
import sys
import zlib

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

ALGORITHMS = {
    "XMD5": lambda: hashlib.md5(),
    "XSHA1": lambda: hashlib.sha1(),
    "XSHA256": lambda: hashlib.sha256(),
}


class Handler(FTPHandler):
    proto_cmds = dict(FTPHandler.proto_cmds)
    for verb in ["XCRC", *ALGORITHMS]:
        proto_cmds[verb] = dict(perm=None, auth=True, arg=True, help=f"Syntax: {verb} <SP> file")

    def _digest(self, verb, line):
        path = self.fs.ftp2fs(line)
        if not self.fs.validpath(path) or not os.path.isfile(path):
            self.respond("550 Not a file.")
            return
        crc, h = 0, ALGORITHMS[verb]() if verb != "XCRC" else None
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 16), b""):
                if h is None:
                    crc = zlib.crc32(block, crc)
                else:
                    h.update(block)
        hex_ = "%08X" % crc if h is None else h.hexdigest().upper()
        self.respond("250 " + hex_)

    def ftp_XCRC(self, path):
        self._digest("XCRC", path)

    def ftp_XMD5(self, path):
        self._digest("XMD5", path)

    def ftp_XSHA1(self, path):
        self._digest("XSHA1", path)

    def ftp_XSHA256(self, path):
        self._digest("XSHA256", path)


root = sys.argv[1]
authorizer = DummyAuthorizer()
authorizer.add_user("bob", "pw", root, perm="elradfmwMT")
Handler.authorizer = authorizer
# Logs ">>> starting FTP server on 127.0.0.1:PORT, pid=N <<<" once it listens.
logging.basicConfig(level=logging.INFO)
FTPServer(("127.0.0.1", 0), Handler).serve_forever()
