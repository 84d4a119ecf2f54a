//! Pub/Sub load generator for `scripts/bench.sh`: one publisher, N subscribers on one channel,
//! all on one thread (mio), and the rate of messages delivered to subscribers.
//!
//! The publisher sends PUBLISH commands in pipelined batches and keeps at most `--window`
//! messages ahead of the slowest subscriber, so the server's output buffers stay small and the
//! figure measures delivery, not buffering. Every message has the same size, so a subscriber's
//! count is its bytes received divided by the size of one message.
//!
//! ```text
//! cargo run --release --example pubsub_load -- --port 6379 --subscribers 50 --seconds 5
//! ```
//! prints one line: `delivered_per_sec=... published_per_sec=... subscribers=... size=...`.

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const PUBLISHER: Token = Token(usize::MAX);
const CHANNEL: &str = "bench-channel";

struct Options {
    host: String,
    port: u16,
    subscribers: usize,
    seconds: f64,
    warmup: f64,
    size: usize,
    batch: usize,
    window: u64,
}

fn parse_options() -> Result<Options, String> {
    let mut opts = Options {
        host: "127.0.0.1".into(),
        port: 6379,
        subscribers: 50,
        seconds: 5.0,
        warmup: 1.0,
        size: 32,
        batch: 32,
        window: 2000,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args
            .get(i + 1)
            .ok_or_else(|| format!("{} needs a value", args[i]))?;
        let bad = || format!("bad value for {}: {value}", args[i]);
        match args[i].as_str() {
            "--host" => opts.host = value.clone(),
            "--port" => opts.port = value.parse().map_err(|_| bad())?,
            "--subscribers" => opts.subscribers = value.parse().map_err(|_| bad())?,
            "--seconds" => opts.seconds = value.parse().map_err(|_| bad())?,
            "--warmup" => opts.warmup = value.parse().map_err(|_| bad())?,
            "--size" => opts.size = value.parse().map_err(|_| bad())?,
            "--batch" => opts.batch = value.parse().map_err(|_| bad())?,
            "--window" => opts.window = value.parse().map_err(|_| bad())?,
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    if opts.subscribers == 0 || opts.batch == 0 {
        return Err("--subscribers and --batch must be positive".into());
    }
    Ok(opts)
}

fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Connects with a blocking socket, sends `request` and reads until `reply_len` bytes came.
fn connect_and_ask(addr: SocketAddr, request: &[u8], reply_len: usize) -> io::Result<TcpStream> {
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(request)?;
    let mut reply = vec![0u8; reply_len];
    stream.read_exact(&mut reply)?;
    stream.set_nonblocking(true)?;
    Ok(TcpStream::from_std(stream))
}

struct Subscriber {
    stream: TcpStream,
    bytes: u64,
}

fn run(opts: &Options) -> Result<String, String> {
    let addr: SocketAddr = format!("{}:{}", opts.host, opts.port)
        .parse()
        .map_err(|e| format!("address: {e}"))?;
    let subscribe = command(&[b"SUBSCRIBE", CHANNEL.as_bytes()]);
    let subscribe_reply = format!(
        "*3\r\n$9\r\nsubscribe\r\n${}\r\n{CHANNEL}\r\n:1\r\n",
        CHANNEL.len()
    );
    let payload = vec![b'x'; opts.size];
    let message_len = format!(
        "*3\r\n$7\r\nmessage\r\n${}\r\n{CHANNEL}\r\n${}\r\n",
        CHANNEL.len(),
        opts.size
    )
    .len() as u64
        + opts.size as u64
        + 2;
    let one_publish = command(&[b"PUBLISH", CHANNEL.as_bytes(), &payload]);
    let batch = one_publish.repeat(opts.batch);

    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    let mut subscribers = Vec::with_capacity(opts.subscribers);
    for index in 0..opts.subscribers {
        let mut stream = connect_and_ask(addr, &subscribe, subscribe_reply.len())
            .map_err(|e| format!("subscriber {index}: {e}"))?;
        poll.registry()
            .register(&mut stream, Token(index), Interest::READABLE)
            .map_err(|e| e.to_string())?;
        subscribers.push(Subscriber { stream, bytes: 0 });
    }
    let mut publisher =
        connect_and_ask(addr, b"*1\r\n$4\r\nPING\r\n", 7).map_err(|e| format!("publisher: {e}"))?;
    poll.registry()
        .register(&mut publisher, PUBLISHER, Interest::READABLE)
        .map_err(|e| e.to_string())?;

    let mut events = Events::with_capacity(1024);
    let mut scratch = vec![0u8; 256 * 1024];
    let mut published: u64 = 0;
    let mut replies: u64 = 0;
    let start = Instant::now();
    let warmup_end = start + Duration::from_secs_f64(opts.warmup);
    let end = warmup_end + Duration::from_secs_f64(opts.seconds);
    let mut at_warmup: Option<(u64, u64)> = None;
    let delivered = |subs: &[Subscriber]| subs.iter().map(|s| s.bytes / message_len).sum::<u64>();
    loop {
        let now = Instant::now();
        if at_warmup.is_none() && now >= warmup_end {
            at_warmup = Some((delivered(&subscribers), replies));
        }
        if now >= end {
            break;
        }
        let slowest = subscribers
            .iter()
            .map(|s| s.bytes / message_len)
            .min()
            .unwrap_or(0);
        if replies == published && published - slowest < opts.window {
            // Blocking on a full socket would stall the loop; the batch is small, and the
            // server drains its input first, so a short spin is enough.
            let mut sent = 0;
            while sent < batch.len() {
                match publisher.write(&batch[sent..]) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                    Err(e) => return Err(format!("publisher write: {e}")),
                }
            }
            published += opts.batch as u64;
        }
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .map_err(|e| e.to_string())?;
        for event in events.iter() {
            let token = event.token();
            loop {
                let result = if token == PUBLISHER {
                    publisher.read(&mut scratch)
                } else {
                    subscribers[token.0].stream.read(&mut scratch)
                };
                match result {
                    Ok(0) => return Err(format!("connection {} closed by the server", token.0)),
                    Ok(n) if token == PUBLISHER => {
                        replies += scratch[..n].iter().filter(|&&b| b == b'\n').count() as u64;
                        if scratch[0] == b'-' {
                            return Err(String::from_utf8_lossy(&scratch[..n]).into_owned());
                        }
                    }
                    Ok(n) => subscribers[token.0].bytes += n as u64,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(format!("read: {e}")),
                }
            }
        }
    }
    let elapsed = end.saturating_duration_since(warmup_end).as_secs_f64();
    let (delivered_before, replies_before) = at_warmup.unwrap_or((0, 0));
    let delivered_now = delivered(&subscribers);
    let rate = (delivered_now - delivered_before) as f64 / elapsed;
    let publish_rate = (replies - replies_before) as f64 / elapsed;
    // Every subscriber must end up with every message: nothing lost, nobody dropped.
    let deadline = Instant::now() + Duration::from_secs(10);
    while subscribers
        .iter()
        .any(|s| s.bytes / message_len < published)
    {
        if Instant::now() > deadline {
            return Err("subscribers did not receive every message".into());
        }
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .map_err(|e| e.to_string())?;
        for sub in subscribers.iter_mut() {
            loop {
                match sub.stream.read(&mut scratch) {
                    Ok(0) => return Err("a subscriber was disconnected".into()),
                    Ok(n) => sub.bytes += n as u64,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(format!("read: {e}")),
                }
            }
        }
    }
    Ok(format!(
        "delivered_per_sec={rate:.0} published_per_sec={publish_rate:.0} subscribers={} size={} messages={published}",
        opts.subscribers, opts.size
    ))
}

fn main() {
    let result = parse_options().and_then(|opts| run(&opts));
    match result {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("pubsub_load: {e}");
            std::process::exit(1);
        }
    }
}
