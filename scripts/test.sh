#!/usr/bin/env bash
# The whole test suite: installs the real FTP peers the interoperability tests talk to when they
# are missing, then runs every test of the workspace. CI (.ci/run) calls this same script.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# Real peers the interoperability tests start or drive: curl and lftp from Debian and Python 3
# with its standard ftplib (examples/tests/interop.rs, against our server); pyftpdlib and
# vsftpd as servers for the client (ftp-client/tests/real_servers.rs), plain and with TLS.
for tool in curl lftp python3; do
    command -v "$tool" >/dev/null 2>&1 || need_apt+=("$tool")
done
[ -x /usr/sbin/vsftpd ] || need_apt+=(vsftpd)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
    else
        echo "missing test peers: ${need_apt[*]} (install them, or run as root)" >&2
        exit 1
    fi
fi

# pyftpdlib, and pyOpenSSL for its TLS_FTPHandler (the client's FTPS tests against it).
if ! python3 -c 'import pyftpdlib, OpenSSL' >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        'pyftpdlib>=2,<3' 'pyopenssl>=24' \
        || python3 -m pip install --quiet --user 'pyftpdlib>=2,<3' 'pyopenssl>=24'
fi

cargo test --workspace --locked "$@"
