//! The client's futures and streams can move between threads: a task using the client can be
//! `tokio::spawn`ed. A compile-time check; the test body only makes sure it is built.

use ftp_client::runtime::tokio::TokioRuntime;
use ftp_client::{Client, DataReader, DataWriter};

fn is_send<T: Send>(_: &T) {}

#[allow(dead_code, clippy::diverging_sub_expression)]
async fn every_future_is_send(mut ftp: Client) {
    is_send(&ftp.login("u", "p"));
    is_send(&ftp.retr("f", 0));
    is_send(&ftp.stor("f", 0));
    is_send(&ftp.appe("f"));
    is_send(&ftp.list(""));
    is_send(&ftp.mlsd(""));
    is_send(&ftp.features());
    is_send(&ftp.upload_tree("a", "b"));
    is_send(&ftp.download_tree("a", "b"));
    is_send(&ftp.resume_upload("a", "b"));
    is_send(&ftp.resume_download("a", "b"));
    let reader: DataReader<'_> = ftp.retr("f", 0).await.unwrap();
    is_send(&reader);
    is_send(&reader.finish());
    let writer: DataWriter<'_> = ftp.stor("f", 0).await.unwrap();
    is_send(&writer);
    is_send(&writer.finish());
    is_send(&ftp.quit());
}

#[test]
fn client_futures_are_send() {
    // A spawned task holding a client: compiles only if everything above is Send.
    fn spawnable<F: Future + Send + 'static>(_: F) {}
    spawnable(async {
        let ftp = Client::connect(TokioRuntime, "localhost", 21, Default::default()).await;
        if let Ok(mut ftp) = ftp {
            let _ = ftp.retr("f", 0).await;
            let _ = ftp.list("").await;
        }
    });
}
