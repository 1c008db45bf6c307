//! The parser hot path, each bench reporting throughput: command lines through framing and
//! grammar, replies through the decoder, Telnet framing, LIST and MLSD lines, reply encoding.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ftp_proto::listing::{parse_list_line, parse_mlsx_line};
use ftp_proto::{Command, LineDecoder, Reply, ReplyCode, ReplyDecoder};

fn commands(c: &mut Criterion) {
    let corpus = ftp_benches::command_corpus();
    let lines: Vec<Bytes> = corpus
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| Bytes::copy_from_slice(l.strip_suffix(b"\r").unwrap_or(l)))
        .collect();
    let mut group = c.benchmark_group("commands");
    group.throughput(Throughput::Elements(lines.len() as u64));
    // Arguments borrow the line: what a proxy, a logger or a fuzzer needs.
    group.bench_function("parse mixed corpus", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(Command::parse(&line[..]).ok());
            }
        })
    });
    // Arguments are slices of the line's `Bytes`: what a session keeps (the server's path).
    group.bench_function("parse_owned mixed corpus", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(Command::parse_owned(line.clone()).ok());
            }
        })
    });
    group.bench_function("frame+parse mixed corpus", |b| {
        let mut decoder = LineDecoder::default();
        let mut buf = BytesMut::with_capacity(corpus.len());
        b.iter(|| {
            buf.extend_from_slice(&corpus);
            while let Some(Ok(line)) = decoder.decode(&mut buf) {
                black_box(Command::parse_owned(line).ok());
            }
        })
    });
    let cmds: Vec<Command<'_>> = lines
        .iter()
        .filter_map(|l| Command::parse(&l[..]).ok())
        .collect();
    group.bench_function("encode mixed corpus", |b| {
        let mut out = BytesMut::with_capacity(4096);
        b.iter(|| {
            out.clear();
            for cmd in &cmds {
                cmd.encode(&mut out);
            }
            black_box(out.len())
        })
    });
    group.finish();
}

fn framing(c: &mut Criterion) {
    // Mostly plain lines, with the Telnet IP/DM sequence clients send before ABOR.
    let mut input = ftp_benches::command_corpus();
    input.extend_from_slice(b"\xff\xf4\xff\xf2ABOR\r\nRETR caf\xc3\xa9 \xff\xff.bin\r\n");
    let mut group = c.benchmark_group("framing");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("lines with Telnet IAC", |b| {
        let mut decoder = LineDecoder::default();
        let mut buf = BytesMut::with_capacity(input.len());
        b.iter(|| {
            buf.extend_from_slice(&input);
            while let Some(line) = decoder.decode(&mut buf) {
                black_box(line.ok());
            }
        })
    });
    group.finish();
}

fn replies(c: &mut Criterion) {
    let mut group = c.benchmark_group("replies");
    let cases: [(&str, Vec<u8>, u64); 4] = [
        ("single-line", b"226 Transfer complete.\r\n".to_vec(), 1),
        (
            "PASV and EPSV",
            b"227 Entering Passive Mode (127,0,0,1,82,98).\r\n229 Entering Extended Passive Mode (|||21799|)\r\n".to_vec(),
            2,
        ),
        ("40-line FEAT", ftp_benches::feat_reply(40), 1),
        ("5000-line STAT", ftp_benches::stat_reply(5000), 1),
    ];
    for (name, wire, count) in &cases {
        group.throughput(Throughput::Elements(*count));
        group.bench_function(format!("decode {name}"), |b| {
            let mut decoder = ReplyDecoder::default();
            let mut buf = BytesMut::with_capacity(wire.len());
            b.iter(|| {
                buf.extend_from_slice(wire);
                while let Some(r) = decoder.decode(&mut buf) {
                    black_box(r.ok());
                }
            })
        });
    }
    let single = Reply::new(ReplyCode::CLOSING_DATA, "Transfer complete.")
        .unwrap_or_else(|_| unreachable!());
    let feat = ReplyDecoder::default()
        .decode(&mut BytesMut::from(&ftp_benches::feat_reply(40)[..]))
        .and_then(Result::ok)
        .unwrap_or_else(|| unreachable!());
    for (name, reply) in [("single-line", &single), ("40-line FEAT", &feat)] {
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("encode {name}"), |b| {
            let mut out = BytesMut::with_capacity(4096);
            b.iter(|| {
                out.clear();
                reply.encode(&mut out);
                black_box(out.len())
            })
        });
    }
    group.finish();
}

fn listings(c: &mut Criterion) {
    let mut group = c.benchmark_group("listings");
    for (name, lines) in [
        ("Unix LIST", ftp_benches::unix_list_lines()),
        ("DOS LIST", ftp_benches::dos_list_lines()),
        ("EPLF LIST", ftp_benches::eplf_list_lines()),
    ] {
        group.throughput(Throughput::Elements(lines.len() as u64));
        group.bench_function(format!("parse {name} lines"), |b| {
            b.iter(|| {
                for line in &lines {
                    black_box(parse_list_line(line).ok());
                }
            })
        });
    }
    let mlsd = ftp_benches::mlsd_lines();
    group.throughput(Throughput::Elements(mlsd.len() as u64));
    group.bench_function("parse MLSD lines", |b| {
        b.iter(|| {
            for line in &mlsd {
                black_box(parse_mlsx_line(line).ok());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, commands, framing, replies, listings);
criterion_main!(benches);
