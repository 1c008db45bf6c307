//! Example programs of the FTP workspace. The example server (`ftpd`) and client (`ftp`)
//! binaries arrive with the `ftp-server` and `ftp-client` drivers.

#![forbid(unsafe_code)]
