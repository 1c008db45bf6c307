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
print("seeds written")
