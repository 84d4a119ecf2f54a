//! INFO and its sections.

use super::REDIS_VERSION;
use crate::commands::{Args, CmdResult, Ctx};
use crate::process;
use crate::store::pubsub::Kind;
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

/// The sections of [`ALL_SECTIONS`] plain INFO (and `default`) leaves out, as Redis 7.0.
const NOT_DEFAULT_SECTIONS: &[&str] = &["commandstats", "latencystats", "tiering"];

/// Every section, in the order Redis 7.0 prints them (`all`, `everything`).
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "tiering",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
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
                 redis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:{}\r\n\
                 monotonic_clock:{}\r\nmultiplexing_api:{multiplexing}\r\nprocess_id:{}\r\n\
                 process_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\n\
                 server_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:{}\r\n\
                 configured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
                env!("CARGO_PKG_VERSION"),
                crate::process::os_description(),
                usize::BITS,
                // Rust's Instant: clock_gettime(CLOCK_MONOTONIC) on Unix, QPC on Windows.
                if cfg!(windows) {
                    "QueryPerformanceCounter"
                } else {
                    "POSIX clock_gettime"
                },
                std::process::id(),
                ctx.server.run_id,
                ctx.server.tcp_port,
                crate::clock::unix_us(),
                uptime / 86400,
                cfg.hz,
                cfg.hz,
                // Redis's LRU clock: seconds, in 24 bits.
                (now / 1000) & ((1 << 24) - 1),
                std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
                cfg.config_file.clone().unwrap_or_default(),
            );
        }
        "clients" => {
            let _ = write!(
                out,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\n\
                 client_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\n\
                 tracking_clients:{}\r\nclients_in_timeout_table:{}\r\n",
                ctx.server.stats.connected_clients,
                cfg.maxclients,
                ctx.server.stats.blocked_clients + ctx.server.stats.paused_clients,
                ctx.server.tracking.client_count(),
                ctx.server.stats.blocked_clients
            );
        }
        "memory" => {
            let used = (ctx.server.used_memory)() as u64;
            let peak = ctx.server.peak_memory.max(used);
            let rss = process::rss_bytes();
            // Lua's heap is counted in `used`, so nothing is deducted from it.
            let figures = crate::memory::allocator_figures(used, rss);
            let (allocated, active, resident) =
                (figures.allocated, figures.active, figures.resident);
            let ratio = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
            let system = process::total_system_memory();
            let overhead = super::admin::MemoryOverhead::of(ctx);
            let (dataset, dataset_percent) = overhead.dataset(used);
            let clients = overhead.clients_normal;
            let lazy = ctx.server.lazyfree.as_ref();
            let cfg = &ctx.server.config;
            let scripting = &ctx.server.scripting;
            let scripts = scripting.cached_scripts();
            let functions = scripting.libraries.function_count();
            let libraries = scripting.libraries.library_count();
            let _ = write!(
                out,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\n\
                 used_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\n\
                 used_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{}\r\nused_memory_startup:{}\r\n\
                 used_memory_dataset:{dataset}\r\nused_memory_dataset_perc:{dataset_percent:.2}%\r\n\
                 allocator_allocated:{}\r\nallocator_active:{}\r\n\
                 allocator_resident:{}\r\ntotal_system_memory:{system}\r\n\
                 total_system_memory_human:{}\r\nused_memory_lua:0\r\nused_memory_vm_eval:0\r\n\
                 used_memory_lua_human:0B\r\nused_memory_scripts_eval:0\r\nnumber_of_cached_scripts:{scripts}\r\n\
                 number_of_functions:{functions}\r\nnumber_of_libraries:{libraries}\r\nused_memory_vm_functions:0\r\n\
                 used_memory_vm_total:0\r\nused_memory_vm_total_human:0B\r\nused_memory_functions:0\r\n\
                 used_memory_scripts:0\r\nused_memory_scripts_human:0B\r\nmaxmemory:{}\r\n\
                 maxmemory_human:{}\r\nmaxmemory_policy:{}\r\nallocator_frag_ratio:{:.2}\r\n\
                 allocator_frag_bytes:{}\r\nallocator_rss_ratio:{:.2}\r\nallocator_rss_bytes:{}\r\n\
                 rss_overhead_ratio:{:.2}\r\nrss_overhead_bytes:{}\r\nmem_fragmentation_ratio:{:.2}\r\n\
                 mem_fragmentation_bytes:{}\r\nmem_not_counted_for_evict:{}\r\nmem_replication_backlog:0\r\n\
                 mem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:{clients}\r\n\
                 mem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:{}\r\nactive_defrag_running:0\r\n\
                 lazyfree_pending_objects:{}\r\nlazyfreed_objects:{}\r\n",
                human_bytes(used),
                human_bytes(rss),
                human_bytes(peak),
                if peak > 0 { used as f64 * 100.0 / peak as f64 } else { 0.0 },
                overhead.total,
                overhead.startup,
                allocated,
                active,
                resident,
                human_bytes(system),
                cfg.maxmemory,
                human_bytes(cfg.maxmemory),
                cfg.maxmemory_policy,
                ratio(active, allocated),
                active as i64 - allocated as i64,
                ratio(resident, active),
                resident as i64 - active as i64,
                ratio(rss, resident),
                rss as i64 - resident as i64,
                ratio(rss, used),
                rss as i64 - used as i64,
                crate::commands::eviction::not_counted_memory(ctx.server),
                crate::memory::allocator_name(),
                lazy.map_or(0, |l| l.pending()),
                lazy.map_or(0, |l| l.freed()),
            );
        }
        "persistence" => crate::commands::persistence::info_section(ctx, out),
        "tiering" => crate::commands::tiering::info_section(ctx, out),
        "stats" => {
            let s = &ctx.server.stats;
            let k = &ctx.ks.stats;
            let rates = ctx.server.rates;
            let pubsub = &ctx.server.pubsub;
            let _ = write!(
                out,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
                 instantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\n\
                 total_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\n\
                 instantaneous_input_kbps:{:.2}\r\ninstantaneous_output_kbps:{:.2}\r\n\
                 instantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\n\
                 rejected_connections:{}\r\nsync_full:{}\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\n\
                 expired_keys:{}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\n\
                 expire_cycle_cpu_milliseconds:{}\r\nevicted_keys:{}\r\nevicted_clients:{}\r\n\
                 total_eviction_exceeded_time:{}\r\ncurrent_eviction_exceeded_time:{}\r\nkeyspace_hits:{}\r\n\
                 keyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\n\
                 latest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:{}\r\n\
                 slave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\n\
                 active_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\n\
                 current_active_defrag_time:0\r\ntracking_total_keys:{}\r\ntracking_total_items:{}\r\n\
                 tracking_total_prefixes:{}\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\n\
                 dump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\n\
                 io_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\n\
                 reply_buffer_shrinks:{}\r\nreply_buffer_expands:{}\r\n",
                s.total_connections_received,
                s.total_commands_processed,
                rates.ops_per_sec,
                s.total_net_input_bytes,
                s.total_net_output_bytes,
                rates.input_kbps,
                rates.output_kbps,
                s.rejected_connections,
                s.sync_full,
                k.expired_keys,
                s.expire_cycle_usec / 1000,
                k.evicted_keys,
                s.evicted_clients,
                ctx.server.eviction.total_exceeded_ms(),
                ctx.server.eviction.current_exceeded_ms(),
                k.keyspace_hits,
                k.keyspace_misses,
                pubsub.channel_count(Kind::Channel),
                pubsub.pattern_count(),
                pubsub.channel_count(Kind::Shard),
                ctx.server.remotes.as_ref().map_or(0, |remotes| remotes.cached()),
                ctx.server.tracking.total_keys(),
                ctx.server.tracking.total_items(),
                ctx.server.tracking.total_prefixes(),
                s.total_error_replies,
                s.total_reads_processed,
                s.total_writes_processed,
                s.reply_buffer_shrinks,
                s.reply_buffer_expands,
            );
        }
        "replication" => {
            let _ = write!(
                out,
                "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n\
                 master_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n\
                 master_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\n\
                 repl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
                ctx.server.repl_id,
            );
        }
        "cpu" => {
            let t = process::cpu_times();
            let _ = write!(
                out,
                "# CPU\r\nused_cpu_sys:{:.6}\r\nused_cpu_user:{:.6}\r\nused_cpu_sys_children:{:.6}\r\n\
                 used_cpu_user_children:{:.6}\r\nused_cpu_sys_main_thread:{:.6}\r\n\
                 used_cpu_user_main_thread:{:.6}\r\n",
                t.system,
                t.user,
                t.children_system,
                t.children_user,
                t.main_thread_system,
                t.main_thread_user,
            );
        }
        // No modules, no cluster.
        "modules" => out.push_str("# Modules\r\n"),
        "latencystats" => crate::commands::latency::write_latencystats(ctx.server, out),
        "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "commandstats" => ctx.server.command_stats.write_commandstats(out),
        // Written as bytes by `info`: an error code need not be UTF-8.
        "errorstats" => {}
        "keyspace" => {
            out.push_str("# Keyspace\r\n");
            for (index, (keys, expires)) in ctx.ks.sizes().into_iter().enumerate() {
                if keys > 0 {
                    let avg_ttl = ctx.ks.avg_ttl(index);
                    let _ = write!(
                        out,
                        "db{index}:keys={keys},expires={expires},avg_ttl={avg_ttl}\r\n"
                    );
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
    // Reddish's own section joins `all` only while the cold tier is on, so that INFO ALL
    // lists what Redis's does.
    let tiering = ctx.server.config.maxmemory_tiering;
    let sections: Vec<&str> = ALL_SECTIONS
        .iter()
        .copied()
        .filter(|s| {
            (all && (*s != "tiering" || tiering))
                || (default && !NOT_DEFAULT_SECTIONS.contains(s))
                || requested.iter().any(|r| r == s)
        })
        .collect();
    let mut text = Vec::new();
    let mut section_text = String::new();
    for section in sections {
        if !text.is_empty() {
            text.extend_from_slice(b"\r\n");
        }
        // Error codes are bytes (a script's error need not be UTF-8); the rest is text.
        if section == "errorstats" {
            ctx.server.command_stats.write_errorstats(&mut text);
            continue;
        }
        section_text.clear();
        info_section(ctx, section, &mut section_text);
        text.extend_from_slice(section_text.as_bytes());
    }
    ctx.out.verbatim(&text);
    Ok(())
}
