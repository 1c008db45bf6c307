//! Fuzz targets of the FTP workspace: each target runs one check of [`checks`], which the
//! ordinary test suite also runs over the committed corpora.

#![forbid(unsafe_code)]

pub mod checks;
