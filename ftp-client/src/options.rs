//! Settings of a client connection.

use std::net::IpAddr;
use std::time::Duration;

use ftp_proto::{PasvAddressPolicy, ReplyDecoderConfig};

/// How data connections are opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DataMode {
    /// The client connects (`EPSV`, falling back to `PASV`): works through client-side NAT and
    /// firewalls, the default of every modern client.
    #[default]
    Passive,
    /// The server connects to a listener of the client's (`EPRT`, falling back to `PORT`).
    Active {
        /// The address to listen on; `None` listens on the control connection's local address.
        bind: Option<IpAddr>,
    },
}

/// Settings of a [`Client`](crate::Client). Start from [`ClientOptions::default`] and change fields.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Time to connect the control connection (each address tried gets this much).
    pub connect_timeout: Duration,
    /// Time to wait for each reply.
    pub reply_timeout: Duration,
    /// Time to open a data connection, and the longest a data connection may stall.
    pub data_timeout: Duration,
    /// Passive or active data connections.
    pub data_mode: DataMode,
    /// Where to connect for a `227` reply: by default the control connection's peer (see
    /// [`PasvAddressPolicy`]).
    pub pasv_address: PasvAddressPolicy,
    /// Limits on replies: line length, lines per reply, bytes per reply.
    pub replies: ReplyDecoderConfig,
    /// The largest listing (`LIST`, `NLST`, `MLSD`) collected into memory.
    pub max_listing_bytes: usize,
    /// The size of the buffers that move transfer data (ASCII conversion, file helpers).
    pub buffer_size: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(30),
            reply_timeout: Duration::from_secs(60),
            data_timeout: Duration::from_secs(60),
            data_mode: DataMode::Passive,
            pasv_address: PasvAddressPolicy::ControlPeer,
            replies: ReplyDecoderConfig::default(),
            max_listing_bytes: 64 << 20,
            buffer_size: 64 << 10,
        }
    }
}
