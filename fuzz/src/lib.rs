//! Fuzz targets of the FTP workspace: each target runs one check of [`checks`] (which the
//! ordinary test suite also runs over the committed corpora) or, for the whole server,
//! [`server_e2e`].

#![forbid(unsafe_code)]

pub mod checks;
pub mod server_e2e;
