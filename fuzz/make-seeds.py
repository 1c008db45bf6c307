"""Writes the seed corpora under fuzz/corpus/TARGET/ from the captured traffic in
ftp-proto/tests/fixtures and from RFC examples. Re-run after adding fixtures."""
import hashlib
import os
import pathlib

here = pathlib.Path(__file__).resolve().parent
fixtures = here.parent / "ftp-proto" / "tests" / "fixtures"


def save(target, data):
    d = here / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


commands, exchanges, transcripts = [], [], []
for control in sorted((fixtures / "servers").glob("*/*.txt")):
    if control.name not in ("control.txt", "anonymous.txt"):
        lines = control.read_bytes().split(b"\n")
        for line in lines:
            save("listing", line.rstrip(b"\r"))
        continue
    wire, sent = b"", b""
    for line in control.read_bytes().split(b"\n"):
        if line.startswith(b"C: "):
            commands.append(line[3:])
            sent += line[3:] + b"\r\n"
            if wire:
                exchanges.append(wire)
            wire = b""
        elif line.startswith(b"S: "):
            wire += line[3:] + b"\r\n"
    exchanges.append(wire)
    transcripts.append((sent, b"".join(exchanges[-40:])))

for c in commands:
    save("command", c)
for i, e in enumerate(exchanges):
    save("reply", bytes([i % 16]) + e)
    if e.startswith((b"227", b"229")):
        save("address", e.split(b" ", 1)[1].rstrip(b"\r\n"))
for sent, received in transcripts:
    save("server_e2e", b"\x07" + sent.replace(b"USER bench", b"USER alice"))
    save("framing", b"\x05" + sent)
    save("server_session", sent)
    save("client_session", received)
for extra in [b"h1", b"127,0,0,1,82,98", b"|1|132.235.1.2|6275|", b"|2|1080::8:800:200C:417A|5282|",
              b"Entering Passive Mode (10,0,0,5,4,1)", b"(|||6446|)", b"20261124082839.014"]:
    save("address", extra)
for line in (fixtures / "listings" / "other-formats.txt").read_bytes().split(b"\n"):
    if line and not line.startswith(b"#"):
        save("listing", line)
# RFC 959 §4.2's multi-line example and Telnet sequences before ABOR (RFC 959 §4.1.3).
save("reply", b"\x03123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n123 The last line\r\n")
save("framing", b"\x01\xff\xf4\xff\xf2ABOR\r\nRETR a\xff\xffb\r\n\xff\xfd\x0aNOOP\n")
save("server_e2e", b"\x03USER a\r\nPASS b\r\nEPSV\r\nRETR pub/file.txt\r\n\xff\xf4\xff\xf2ABOR\r\nPORT 127,0,0,1,200,1\r\nSTOR x\r\nMKD d\r\nCWD d\r\nRNFR ../pub/file.txt\r\nRNTO f\r\nMLST f\r\nSTAT /\r\nQUIT\r\n")
save("server_session", b"USER a\r\nPASS b\r\nEPSV\r\nRETR f\r\n\xff\xf4\xff\xf2ABOR\r\nREST 5\r\nPASV\r\nSTOR g\r\nRNFR a\r\nRNTO b\r\nQUIT\r\n")
# The whole client: byte 0 = control chunk size (and 0x40 for active mode), byte 1 = the data
# connections' length / 16, then their contents, then the server's replies for the client's
# fixed session (login, FEAT, PWD, CWD, SIZE, MDTM, MLST, LIST, NLST, MLSD, two RETRs, STOR,
# RNFR/RNTO, NOOP, QUIT). From pyftpdlib's captured replies where they exist.
listing = (b"-rw-r--r--   1 ftp      ftp          1234 Nov 24 08:28 file\r\n"
           b"drwxr-xr-x   2 ftp      ftp          4096 Jan 02  2025 dir\r\n"
           b"type=file;size=5;modify=20261124082839; file\r\n").ljust(160, b" ")
transfer = b"229 Entering extended passive mode (|||50001|).\r\n150 File status okay.\r\n226 Transfer complete.\r\n"
session = (b"220-pyftpdlib 2.2.0 ready.\r\n220 \r\n331 Username ok, send password.\r\n230 Login successful.\r\n"
           b"211-Features supported:\r\n EPRT\r\n EPSV\r\n MDTM\r\n MLST type*;perm;size*;modify*;\r\n REST STREAM\r\n SIZE\r\n211 End FEAT.\r\n"
           b"257 \"/\" is the current directory.\r\n250 \"/dir\" is the current directory.\r\n213 1234\r\n213 20261124082839\r\n"
           b"250-Listing \"file\":\r\n type=file;size=1234;modify=20261124082839; /file\r\n250 End MLST.\r\n"
           b"200 Type set to: Binary.\r\n" + transfer * 3 + b"350 Restarting at position 10.\r\n"
           + transfer + transfer[:transfer.index(b"226")] + b"426 Transfer aborted.\r\n226 ABOR command successful.\r\n"
           + transfer + b"350 Ready for destination name.\r\n250 Renaming ok.\r\n200 I successfully done nothin'.\r\n221 Goodbye.\r\n")
save("client_e2e", bytes([0x3f, len(listing) // 16]) + listing + session)
save("client_e2e", bytes([0x02, len(listing) // 16]) + listing + session)
active = session.replace(transfer, b"200 Active data connection established.\r\n150 File status okay.\r\n226 Transfer complete.\r\n")
save("client_e2e", bytes([0x40 | 0x07, len(listing) // 16]) + listing + active)
# EPSV refused, PASV with a NAT address; every command refused; a 421 in the middle.
save("client_e2e", b"\x10\x00220 hi\r\n230 in\r\n500 FEAT?\r\n550 no\r\n550 no\r\n550 no\r\n550 no\r\n550 no\r\n"
     b"200 TYPE ok\r\n500 EPSV?\r\n227 Entering Passive Mode (10,0,0,5,4,1)\r\n550 no\r\n421 bye\r\n")
print("seeds written")
