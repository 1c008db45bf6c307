//! Parser hot path: command lines through framing and grammar, replies through the decoder.

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ftp_proto::{Command, LineDecoder, Reply, ReplyCode, ReplyDecoder};
use std::hint::black_box;

fn commands(c: &mut Criterion) {
    let corpus = ftp_benches::command_corpus();
    let count = corpus.iter().filter(|&&b| b == b'\n').count() as u64;
    let mut group = c.benchmark_group("commands");
    group.throughput(Throughput::Elements(count));
    group.bench_function("frame+parse mixed corpus", |b| {
        let mut decoder = LineDecoder::default();
        b.iter(|| {
            let mut buf = BytesMut::from(&corpus[..]);
            while let Some(Ok(line)) = decoder.decode(&mut buf) {
                black_box(Command::parse(line).ok());
            }
        })
    });
    group.finish();
}

fn replies(c: &mut Criterion) {
    let single: &[u8] = b"227 Entering Passive Mode (127,0,0,1,82,98).\r\n";
    let mut group = c.benchmark_group("replies");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode single-line", |b| {
        let mut decoder = ReplyDecoder::default();
        b.iter(|| {
            let mut buf = BytesMut::from(single);
            black_box(decoder.decode(&mut buf))
        })
    });
    let reply = Reply::new(ReplyCode::FILE_STATUS, "1048576").unwrap_or_else(|_| unreachable!());
    group.bench_function("encode single-line", |b| {
        let mut out = BytesMut::with_capacity(64);
        b.iter(|| {
            out.clear();
            reply.encode(&mut out);
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, commands, replies);
criterion_main!(benches);
