//! Fuzz targets of the FTP workspace: each target runs one check of [`checks`] (which the
//! ordinary test suite also runs over the committed corpora) or, for a whole server and a
//! whole client, [`server_e2e`] and [`client_e2e`].

#![forbid(unsafe_code)]

pub mod checks;
pub mod client_e2e;
pub mod server_e2e;
