//! INFO and its sections.

use super::REDIS_VERSION;
use crate::commands::{Args, CmdResult, Ctx};
use std::fmt::Write as _;

fn human_bytes(n: u64) -> String {
    const UNITS: &[&str] = &["B", "K", "M", "G", "T"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n}B")
    } else {
        format!("{value:.2}{}", UNITS[unit])
    }
}

/// Resident set size of this process, where the platform tells it cheaply.
pub(super) fn rss_bytes() -> u64 {
    #[cfg(target_os = "linux")]
    {
        if let Ok(statm) = std::fs::read_to_string("/proc/self/statm") {
            if let Some(pages) = statm
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
            {
                return pages * 4096;
            }
        }
    }
    0
}

/// The sections of [`ALL_SECTIONS`] plain INFO (and `default`) leaves out.
const NOT_DEFAULT_SECTIONS: &[&str] = &["commandstats", "errorstats"];

/// Every section, in the order INFO prints them (`all`, `everything`).
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "commandstats",
    "errorstats",
    "keyspace",
];

fn info_section(ctx: &mut Ctx, section: &str, out: &mut String) {
    let now = ctx.ks.now_ms();
    let cfg = &ctx.server.config;
    match section {
        "server" => {
            let uptime = now.saturating_sub(ctx.server.started_ms) / 1000;
            let multiplexing = if cfg!(windows) {
                "iocp"
            } else if cfg!(target_os = "linux") {
                "epoll"
            } else {
                "kqueue"
            };
            let _ = write!(
                out,
                "# Server\r\nredis_version:{REDIS_VERSION}\r\nreddish_version:{}\r\nredis_git_sha1:00000000\r\n\
                 redis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:{}\r\n\
                 multiplexing_api:{multiplexing}\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{}\r\n\
                 server_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:{}\r\n\
                 configured_hz:{}\r\nexecutable:{}\r\nconfig_file:{}\r\n",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS,
                std::env::consts::ARCH,
                usize::BITS,
                std::process::id(),
                ctx.server.run_id,
                ctx.server.tcp_port,
                now * 1000,
                uptime / 86400,
                cfg.hz,
                cfg.hz,
                std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
                cfg.config_file.clone().unwrap_or_default(),
            );
        }
        "clients" => {
            let _ = write!(
                out,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\n\
                 client_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\n\
                 tracking_clients:0\r\nclients_in_timeout_table:{}\r\n",
                ctx.server.stats.connected_clients,
                cfg.maxclients,
                ctx.server.stats.blocked_clients,
                ctx.server.stats.blocked_clients
            );
        }
        "memory" => {
            let used = (ctx.server.used_memory)() as u64;
            let rss = rss_bytes();
            let _ = write!(
                out,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\n\
                 used_memory_rss_human:{}\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\n\
                 mem_fragmentation_ratio:{:.2}\r\nmem_allocator:libc\r\n",
                human_bytes(used),
                human_bytes(rss),
                cfg.maxmemory,
                human_bytes(cfg.maxmemory),
                cfg.maxmemory_policy,
                if used > 0 { rss as f64 / used as f64 } else { 0.0 },
            );
        }
        "persistence" => crate::commands::persistence::info_section(ctx, out),
        "stats" => {
            let s = &ctx.server.stats;
            let k = &ctx.ks.stats;
            let _ = write!(
                out,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
                 instantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\n\
                 rejected_connections:{}\r\nexpired_keys:{}\r\nevicted_keys:0\r\nkeyspace_hits:{}\r\n\
                 keyspace_misses:{}\r\npubsub_channels:0\r\npubsub_patterns:0\r\ntotal_error_replies:{}\r\n",
                s.total_connections_received,
                s.total_commands_processed,
                ctx.server.ops_per_sec,
                s.total_net_input_bytes,
                s.total_net_output_bytes,
                s.rejected_connections,
                k.expired_keys,
                k.keyspace_hits,
                k.keyspace_misses,
                s.total_error_replies,
            );
        }
        "replication" => {
            out.push_str(
                "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\n",
            );
        }
        "cpu" => {
            out.push_str("# CPU\r\n");
        }
        "commandstats" => ctx.server.command_stats.write_commandstats(out),
        "errorstats" => ctx.server.command_stats.write_errorstats(out),
        "keyspace" => {
            out.push_str("# Keyspace\r\n");
            for (index, (keys, expires)) in ctx.ks.sizes().into_iter().enumerate() {
                if keys > 0 {
                    let _ = write!(out, "db{index}:keys={keys},expires={expires},avg_ttl=0\r\n");
                }
            }
        }
        _ => {}
    }
}

pub fn info(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let requested: Vec<String> = args
        .rest()
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let all = requested.iter().any(|s| s == "all" || s == "everything");
    let default = requested.is_empty() || requested.iter().any(|s| s == "default");
    let sections: Vec<&str> = ALL_SECTIONS
        .iter()
        .copied()
        .filter(|s| {
            all || (default && !NOT_DEFAULT_SECTIONS.contains(s))
                || requested.iter().any(|r| r == s)
        })
        .collect();
    let mut text = String::new();
    for section in sections {
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        info_section(ctx, section, &mut text);
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}
