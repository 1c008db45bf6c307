// Node's basic-ftp against ftpd: a download of a missing file fails with 550, and the same
// client (one session) then lists and downloads. basic-ftp opens the data connection before
// sending RETR; a server that reset that connection after the 550 made the client drop its
// whole session ("Client is closed").
//
// Usage: NODE_PATH=... node basic_ftp_missing.js HOST PORT USER PASSWORD LOCALDIR; prints OK.
const ftp = require("basic-ftp");
const fs = require("fs");
const path = require("path");

async function main() {
  const [host, port, user, password, dir] = process.argv.slice(2);
  const client = new ftp.Client(15000);
  await client.access({ host, port: Number(port), user, password });
  for (let i = 0; i < 3; i++) {
    let failed = null;
    try {
      await client.downloadTo(path.join(dir, "missing.txt"), "missing.txt");
    } catch (err) {
      failed = err;
    }
    if (!failed || failed.code !== 550) {
      throw new Error(`expected a 550, got ${failed}`);
    }
    if (client.closed) {
      throw new Error("the session was dropped after a 550");
    }
  }
  const names = (await client.list()).map((f) => f.name).sort();
  if (names.join(",") !== "big.bin,hello.txt") {
    throw new Error(`listing: ${names}`);
  }
  await client.downloadTo(path.join(dir, "hello.txt"), "hello.txt");
  await client.uploadFrom(path.join(dir, "hello.txt"), "copy.txt");
  client.close();
  console.log("OK");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
