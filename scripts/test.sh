#!/usr/bin/env bash
# The whole test suite: installs the real FTP peers the interoperability tests talk to when they
# are missing, then runs every test of the workspace. CI (.ci/run) calls this same script.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# Real peers the interoperability tests start or drive: curl and lftp from Debian and Python 3
# with its standard ftplib (examples/tests/interop.rs, against our server); pyftpdlib and
# vsftpd as servers for the client (ftp-client/tests/real_servers.rs), plain and with TLS;
# openssl hashes the passwords of the unpacked servers below.
for tool in curl lftp python3 openssl; do
    command -v "$tool" >/dev/null 2>&1 || need_apt+=("$tool")
done
# Classic clients for the real-client tests (examples/tests/real_clients.rs): tnftp,
# inetutils ftp and ncftp (mget and wildcards), and Node for basic-ftp.
command -v tnftp >/dev/null 2>&1 || need_apt+=(tnftp)
command -v inetutils-ftp >/dev/null 2>&1 || need_apt+=(inetutils-ftp)
command -v ncftpget >/dev/null 2>&1 || need_apt+=(ncftp)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
[ -x /usr/sbin/vsftpd ] || need_apt+=(vsftpd)
# crc32 (libarchive-zip-perl) beside coreutils' sha256sum and md5sum: the checksums the HASH
# tests compare with (ftp-server/tests/checksums.rs).
command -v crc32 >/dev/null 2>&1 || need_apt+=(libarchive-zip-perl)
# HAProxy in front of two ftpd instances (examples/tests/scale_out.rs).
[ -x /usr/sbin/haproxy ] || need_apt+=(haproxy)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
    else
        echo "missing test peers: ${need_apt[*]} (install them, or run as root)" >&2
        exit 1
    fi
fi

# pyftpdlib, and pyOpenSSL for its TLS_FTPHandler (the client's FTPS tests against it); the
# aioftp server, which lacks SIZE and NLST (the client's fallbacks); moto's S3 server, the
# object store of the object-store back-end's tests (ftp-server/src/storage/object.rs,
# ftp-server/tests/object_store.rs, examples/tests/scale_out.rs).
py_peers=('pyftpdlib>=2,<3' 'pyopenssl>=24' 'aioftp>=0.22,<1' 'moto[server]>=5,<6')
if ! python3 -c 'import pyftpdlib, OpenSSL, aioftp, moto.server, flask_cors' >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        "${py_peers[@]}" \
        || python3 -m pip install --quiet --user "${py_peers[@]}"
fi

# ProFTPD (with mod_tls), Pure-FTPd and inetutils ftpd, servers for the client's tests: Debian's FTP
# servers conflict with each other and with vsftpd, so they are unpacked (apt-get download and
# dpkg-deb -x), never installed, into FTP_PEERS (default /opt/ftp-peers), with the libraries
# ProFTPD needs that the machine lacks.
peers=${FTP_PEERS:-/opt/ftp-peers}
if [ ! -x "$peers/proftpd/usr/sbin/proftpd" ] || [ ! -x "$peers/pure-ftpd/usr/sbin/pure-ftpd" ] \
    || [ ! -x "$peers/inetutils/usr/sbin/ftpd" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing test peers in $peers: ProFTPD, Pure-FTPd (run as root to unpack them)" >&2
        exit 1
    fi
    command -v openssl >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl
    mkdir -p "$peers/debs"
    debs=(proftpd-core proftpd-mod-crypto pure-ftpd pure-ftpd-common inetutils-ftpd
          libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 libhashkit2)
    (cd "$peers/debs" && { apt-get download -qq "${debs[@]}" 2>/dev/null \
        || { apt-get update -qq && apt-get download -qq "${debs[@]}"; }; })
    for deb in "$peers"/debs/proftpd-core_*.deb "$peers"/debs/proftpd-mod-crypto_*.deb; do
        dpkg-deb -x "$deb" "$peers/proftpd"
    done
    for deb in "$peers"/debs/pure-ftpd_*.deb "$peers"/debs/pure-ftpd-common_*.deb; do
        dpkg-deb -x "$deb" "$peers/pure-ftpd"
    done
    # GNU inetutils ftpd, run inetd-style by ftp-client/tests/inetd.py.
    dpkg-deb -x "$peers"/debs/inetutils-ftpd_*.deb "$peers/inetutils"
    for lib in libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 libhashkit2; do
        dpkg-deb -x "$peers"/debs/"$lib"_*.deb "$peers/libs"
    done
fi
# Node's basic-ftp from npm, into FTP_PEERS/node (the tests point NODE_PATH there).
if [ ! -d "$peers/node/node_modules/basic-ftp" ]; then
    mkdir -p "$peers/node"
    npm install --silent --no-audit --no-fund --prefix "$peers/node" 'basic-ftp@5'
fi
export FTP_PEERS="$peers"

cargo test --workspace --locked "$@"
