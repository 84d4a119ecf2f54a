//! Latency diagnostics, as Redis 7.0 keeps them: the latency monitor (events slower than
//! `latency-monitor-threshold` milliseconds, 160 per-second samples per event: LATENCY
//! LATEST, HISTORY, GRAPH, DOCTOR, RESET) and latency tracking (a histogram of run times per
//! command: LATENCY HISTOGRAM, INFO latencystats).
//!
//! Both are fed from the one measurement [`super::call`] makes of every command (see
//! [`super::stats::after_call`]), and the monitor also from the reactor's expiry cycle.

use super::reply::help_reply;
use super::table::{CommandSpec, Flags, COMMANDS};
use super::{lookup, Args, CmdError, CmdResult, Ctx, Server};
use hdrhistogram::Histogram;
use std::fmt::Write as _;

/// Samples each event keeps, one per second at most, as Redis keeps them.
pub const SAMPLES_PER_EVENT: usize = 160;

/// What the latency monitor records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyEvent {
    /// A command without the `fast` flag ran long.
    Command,
    /// A command with the `fast` flag (O(1) or O(log N)) ran long.
    FastCommand,
    /// One round of active expiry (the reactor's timed work) ran long.
    ExpireCycle,
    /// One round of maxmemory eviction ran long.
    EvictionCycle,
}

impl LatencyEvent {
    /// Redis's name for the event.
    pub fn name(self) -> &'static str {
        match self {
            LatencyEvent::Command => "command",
            LatencyEvent::FastCommand => "fast-command",
            LatencyEvent::ExpireCycle => "expire-cycle",
            LatencyEvent::EvictionCycle => "eviction-cycle",
        }
    }
}

/// One sample: the worst latency seen in one second.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    /// Unix seconds; 0 marks a slot not used yet.
    time: u64,
    latency_ms: u32,
}

/// The samples of one event: a ring of the latest [`SAMPLES_PER_EVENT`] seconds that had a
/// spike, and the worst spike since the event was last reset.
#[derive(Debug, Clone)]
struct EventSeries {
    event: LatencyEvent,
    samples: [Sample; SAMPLES_PER_EVENT],
    /// The slot the next sample goes to; the oldest sample when the ring is full.
    next: usize,
    max_ms: u32,
}

impl EventSeries {
    /// The samples in use, oldest first.
    fn samples(&self) -> impl Iterator<Item = Sample> + '_ {
        let (newer, older) = self.samples.split_at(self.next);
        older
            .iter()
            .chain(newer.iter())
            .copied()
            .filter(|s| s.time != 0)
    }

    /// The latest sample (a zeroed one if the ring is empty, as Redis reports it).
    fn latest(&self) -> Sample {
        self.samples[(self.next + SAMPLES_PER_EVENT - 1) % SAMPLES_PER_EVENT]
    }
}

/// The latency monitor's events, in the order they were first seen.
#[derive(Debug, Clone, Default)]
pub struct LatencyMonitor {
    events: Vec<EventSeries>,
}

impl LatencyMonitor {
    /// Records that `event` took `latency_ms` at Unix second `now`: a second sample in the same
    /// second keeps the worse of the two. O(events), a handful.
    pub fn add_sample(&mut self, event: LatencyEvent, latency_ms: u64, now: u64) {
        let latency_ms = u32::try_from(latency_ms).unwrap_or(u32::MAX);
        let index = match self.events.iter().position(|s| s.event == event) {
            Some(index) => index,
            None => {
                self.events.push(EventSeries {
                    event,
                    samples: [Sample::default(); SAMPLES_PER_EVENT],
                    next: 0,
                    max_ms: 0,
                });
                self.events.len() - 1
            }
        };
        let series = &mut self.events[index];
        series.max_ms = series.max_ms.max(latency_ms);
        let previous = (series.next + SAMPLES_PER_EVENT - 1) % SAMPLES_PER_EVENT;
        if series.samples[previous].time == now {
            let sample = &mut series.samples[previous];
            sample.latency_ms = sample.latency_ms.max(latency_ms);
            return;
        }
        series.samples[series.next] = Sample {
            time: now,
            latency_ms,
        };
        series.next = (series.next + 1) % SAMPLES_PER_EVENT;
    }

    /// Forgets the events named `name` (any case), or all of them; returns how many were
    /// forgotten.
    pub fn reset(&mut self, name: Option<&[u8]>) -> usize {
        let before = self.events.len();
        self.events.retain(|series| {
            name.is_some_and(|name| !series.event.name().as_bytes().eq_ignore_ascii_case(name))
        });
        before - self.events.len()
    }

    /// The series of the event named exactly `name` (Redis compares event names with case).
    fn find(&self, name: &[u8]) -> Option<&EventSeries> {
        self.events
            .iter()
            .find(|series| series.event.name().as_bytes() == name)
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// Feeds the latency monitor: records `event` when it took at least
/// `latency-monitor-threshold` ms (never while that is 0, the default). One test of the
/// threshold unless it records.
#[inline]
pub fn sample_if_slow(server: &mut Server, event: LatencyEvent, usec: u64) {
    if is_slow(server, usec) {
        record_sample(server, event, usec / 1000);
    }
}

/// [`sample_if_slow`] for a command run: a `command` event, or `fast-command` for a command
/// with the `fast` flag.
#[inline]
pub fn sample_command_if_slow(server: &mut Server, spec: &CommandSpec, usec: u64) {
    if is_slow(server, usec) {
        record_command_sample(server, spec, usec);
    }
}

#[inline]
fn is_slow(server: &Server, usec: u64) -> bool {
    let threshold_ms = server.config.latency_monitor_threshold;
    threshold_ms != 0 && usec >= threshold_ms.saturating_mul(1000)
}

#[cold]
fn record_command_sample(server: &mut Server, spec: &CommandSpec, usec: u64) {
    let event = if spec.flags.contains(Flags::FAST) {
        LatencyEvent::FastCommand
    } else {
        LatencyEvent::Command
    };
    record_sample(server, event, usec / 1000);
}

#[cold]
fn record_sample(server: &mut Server, event: LatencyEvent, latency_ms: u64) {
    let now = crate::clock::unix_ms() / 1000;
    server.latency.add_sample(event, latency_ms, now);
}

// Latency tracking: the bounds and precision Redis gives its per-command histograms, in
// nanoseconds (1 ns to 1 s, two significant digits), so that the buckets LATENCY HISTOGRAM
// reports and the percentiles INFO prints come out as Redis's.
const HISTOGRAM_LOWEST_NS: u64 = 1;
const HISTOGRAM_HIGHEST_NS: u64 = 1_000_000_000;
const HISTOGRAM_SIGNIFICANT_DIGITS: u8 = 2;
/// LATENCY HISTOGRAM's first bucket ends at 1024 ns; each next one is twice as wide.
const CDF_FIRST_BUCKET_NS: u64 = 1024;

// HdrHistogram's layout for those bounds: two significant digits need 256 sub-buckets (128
// per half), a lowest value of 1 ns a unit of 1, and 23 buckets reach 1 s, so 24 * 128
// counters. `counter_index` and `counter_value` are HdrHistogram's own index arithmetic for
// that layout; a test checks them against the crate's.
const SUB_BUCKET_HALF_COUNT_MAGNITUDE: u32 = 7;
const SUB_BUCKET_HALF_COUNT: u64 = 1 << SUB_BUCKET_HALF_COUNT_MAGNITUDE;
const SUB_BUCKET_MASK: u64 = 2 * SUB_BUCKET_HALF_COUNT - 1;
const LEADING_ZERO_COUNT_BASE: u32 = 64 - (SUB_BUCKET_HALF_COUNT_MAGNITUDE + 1);
const COUNTERS: usize = 24 * SUB_BUCKET_HALF_COUNT as usize;

/// The counter a value in [`HISTOGRAM_LOWEST_NS`, `HISTOGRAM_HIGHEST_NS`] falls in.
#[inline]
fn counter_index(ns: u64) -> usize {
    let bucket = LEADING_ZERO_COUNT_BASE - (ns | SUB_BUCKET_MASK).leading_zeros();
    let sub_bucket = ns >> bucket;
    (((u64::from(bucket) + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + sub_bucket
        - SUB_BUCKET_HALF_COUNT) as usize
}

/// The lowest value counter `index` holds.
fn counter_value(index: usize) -> u64 {
    let index = index as u64;
    let bucket = (index >> SUB_BUCKET_HALF_COUNT_MAGNITUDE).saturating_sub(1);
    let mut sub_bucket = (index & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
    if index < SUB_BUCKET_HALF_COUNT {
        sub_bucket -= SUB_BUCKET_HALF_COUNT;
    }
    sub_bucket << bucket
}

/// The run times of one command: the counters of an HdrHistogram (1 ns to 1 s, two
/// significant digits, as Redis's), 3,072 of them (24 KiB) allocated when the command first
/// runs, as in Redis. Recording a run is a shift and an increment; the reports
/// ([`Self::cumulative_buckets`], [`Self::percentile_usec`]) load the counters into the
/// `hdrhistogram` crate's histogram and read it as Redis reads its own.
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    counts: Box<[u64]>,
}

impl LatencyHistogram {
    pub fn new() -> Self {
        LatencyHistogram {
            counts: vec![0; COUNTERS].into_boxed_slice(),
        }
    }

    /// Counts one run that took `usec` microseconds; below 1 ns or above 1 s counts as
    /// those bounds, as in Redis. O(1).
    #[inline]
    pub fn record_usec(&mut self, usec: u64) {
        // Clamping the microseconds first leaves no overflow to check.
        let ns = (usec.min(HISTOGRAM_HIGHEST_NS / 1000) * 1000).max(HISTOGRAM_LOWEST_NS);
        if let Some(count) = self.counts.get_mut(counter_index(ns)) {
            *count += 1;
        }
    }

    /// The counters as the crate's histogram; `None` only if the crate refused the constant
    /// bounds above. O(counters).
    fn to_hdr(&self) -> Option<Histogram<u64>> {
        let mut histogram = Histogram::new_with_bounds(
            HISTOGRAM_LOWEST_NS,
            HISTOGRAM_HIGHEST_NS,
            HISTOGRAM_SIGNIFICANT_DIGITS,
        )
        .ok()?;
        for (index, &count) in self.counts.iter().enumerate() {
            if count > 0 {
                // Within the bounds by construction, so this only saturates a counter.
                histogram.saturating_record_n(counter_value(index), count);
            }
        }
        Some(histogram)
    }

    /// Runs counted.
    pub fn calls(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The cumulative distribution LATENCY HISTOGRAM replies: for each power-of-two bucket
    /// from 1024 ns up to the slowest run, (the bucket's upper bound in µs, runs up to it),
    /// leaving out the buckets that add no run. Walks the histogram the way HdrHistogram's
    /// logarithmic iterator does, so the bounds are Redis's (1, 2, 4, 8, 16, 33, 66, ...).
    /// O(counters).
    pub fn cumulative_buckets(&self) -> Vec<(u64, u64)> {
        let mut buckets: Vec<(u64, u64)> = Vec::new();
        let Some(h) = self.to_hdr() else {
            return buckets;
        };
        let total = h.len();
        let mut emit = |highest_ns: u64, cumulative: u64| {
            if buckets.last().map_or(0, |&(_, count)| count) < cumulative {
                buckets.push((highest_ns / 1000, cumulative));
            }
        };
        if total == 0 {
            return buckets;
        }
        let mut level = CDF_FIRST_BUCKET_NS;
        let mut level_lowest = h.lowest_equivalent(level);
        let mut cumulative = 0u64;
        let mut last_highest = 0u64;
        for step in h.iter_all() {
            cumulative = cumulative.saturating_add(step.count_at_value());
            let highest = step.value_iterated_to();
            last_highest = highest;
            while h.lowest_equivalent(highest) >= level_lowest {
                emit(highest, cumulative);
                if cumulative >= total {
                    return buckets;
                }
                level = level.saturating_mul(2);
                level_lowest = h.lowest_equivalent(level);
            }
        }
        // Runs beyond the last power of two the counters reach: the iterator reports them
        // at the end of the counters.
        emit(last_highest, cumulative);
        buckets
    }

    /// The run time at each of `percentiles` (0 to 100) in µs, as HdrHistogram's
    /// `hdr_value_at_percentile` computes it (the upper end of the bucket where the count is
    /// reached; the lower end for percentile 0). O(counters) each.
    pub fn percentiles_usec(&self, percentiles: &[f64]) -> Vec<f64> {
        let Some(h) = self.to_hdr() else {
            return vec![0.0; percentiles.len()];
        };
        percentiles
            .iter()
            .map(|&percentile| {
                let percentile = percentile.min(100.0);
                let wanted = ((percentile / 100.0 * h.len() as f64 + 0.5) as u64).max(1);
                let mut cumulative = 0u64;
                for step in h.iter_recorded() {
                    cumulative = cumulative.saturating_add(step.count_at_value());
                    if cumulative >= wanted {
                        let highest = step.value_iterated_to();
                        let ns = if percentile == 0.0 {
                            h.lowest_equivalent(highest)
                        } else {
                            highest
                        };
                        return ns as f64 / 1000.0;
                    }
                }
                0.0
            })
            .collect()
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

/// Every command and subcommand, in table order (each container before its subcommands).
fn all_specs() -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS
        .iter()
        .flat_map(|spec| std::iter::once(spec).chain(spec.subcommands.iter()))
}

/// Appends INFO's `latencystats` section: the configured percentiles of every command that
/// has run, while latency tracking is on.
pub fn write_latencystats(server: &Server, out: &mut String) {
    out.push_str("# Latencystats\r\n");
    if !server.config.latency_tracking {
        return;
    }
    let percentiles = &server.config.latency_tracking_info_percentiles;
    for spec in all_specs() {
        let Some(histogram) = server.command_stats.histogram(spec) else {
            continue;
        };
        let _ = write!(out, "latency_percentiles_usec_{}:", spec.full_name);
        let values = histogram.percentiles_usec(percentiles);
        for (index, (&percentile, value)) in percentiles.iter().zip(values).enumerate() {
            if index > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "p{}={value:.3}",
                crate::config::trimmed_percentile(percentile),
            );
        }
        out.push_str("\r\n");
    }
}

/// LATENCY HISTOGRAM [command ...]: a map from command name to its calls and cumulative
/// distribution. Named commands that do not exist or never ran are left out; a container
/// stands for its subcommands.
pub fn latency_histogram(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let stats = &ctx.server.command_stats;
    let mut shown: Vec<(&'static CommandSpec, &LatencyHistogram)> = Vec::new();
    let mut add = |spec: &'static CommandSpec| {
        if let Some(histogram) = stats.histogram(spec) {
            shown.push((spec, histogram));
        }
    };
    if args.is_empty() {
        all_specs().for_each(&mut add);
    } else {
        for name in args.rest() {
            let Some(spec) = spec_by_full_name(name) else {
                continue;
            };
            add(spec);
            spec.subcommands.iter().for_each(&mut add);
        }
    }
    ctx.out.map(shown.len());
    for (spec, histogram) in shown {
        ctx.out.bulk(spec.full_name.as_bytes());
        ctx.out.map(2);
        ctx.out.bulk(b"calls");
        ctx.out.int(histogram.calls() as i64);
        ctx.out.bulk(b"histogram_usec");
        let buckets = histogram.cumulative_buckets();
        ctx.out.map(buckets.len());
        for (usec, cumulative) in buckets {
            ctx.out.int(usec as i64);
            ctx.out.int(cumulative as i64);
        }
    }
    Ok(())
}

/// The command a name such as `get`, `client` or `client|id` denotes, as Redis's
/// `lookupCommandBySds` finds it (a `|` names a subcommand; a command without subcommands
/// has none).
fn spec_by_full_name(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut parts = name.split(|&b| b == b'|');
    let container = lookup(parts.next()?)?;
    let Some(sub) = parts.next() else {
        return Some(container);
    };
    if parts.next().is_some() {
        return None;
    }
    container.subcommand(sub)
}

/// LATENCY LATEST: each event's latest sample and its worst one.
pub fn latency_latest(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let events = &ctx.server.latency.events;
    ctx.out.array(events.len());
    for series in events {
        let latest = series.latest();
        ctx.out.array(4);
        ctx.out.bulk(series.event.name().as_bytes());
        ctx.out.int(latest.time as i64);
        ctx.out.int(i64::from(latest.latency_ms));
        ctx.out.int(i64::from(series.max_ms));
    }
    Ok(())
}

/// LATENCY HISTORY event: the event's samples as (Unix time, ms), oldest first.
pub fn latency_history(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let name = args.bytes()?;
    let samples: Vec<Sample> = ctx
        .server
        .latency
        .find(name)
        .map(|series| series.samples().collect())
        .unwrap_or_default();
    ctx.out.array(samples.len());
    for sample in samples {
        ctx.out.array(2);
        ctx.out.int(sample.time as i64);
        ctx.out.int(i64::from(sample.latency_ms));
    }
    Ok(())
}

/// LATENCY RESET [event ...]: forgets the named events, or all; replies how many.
pub fn latency_reset(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let names = args.rest();
    let monitor = &mut ctx.server.latency;
    let forgotten = if names.is_empty() {
        monitor.reset(None)
    } else {
        names.iter().map(|name| monitor.reset(Some(name))).sum()
    };
    ctx.out.int(forgotten as i64);
    Ok(())
}

/// LATENCY GRAPH event: Redis's ASCII sparkline of the event's samples.
pub fn latency_graph(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let name = args.bytes()?;
    let Some(series) = ctx.server.latency.find(name) else {
        return Err(CmdError::concat(&[
            b"ERR No samples available for event '",
            name,
            b"'",
        ]));
    };
    let now = crate::clock::unix_ms() / 1000;
    let graph = graph(series, now);
    ctx.out.verbatim(graph.as_bytes());
    Ok(())
}

/// Columns of a latency graph; more samples wrap onto another block of rows.
const GRAPH_COLUMNS: usize = 80;
/// Rows of bars in a latency graph.
const GRAPH_ROWS: usize = 4;

/// The text of LATENCY GRAPH: a title with the high, low and all-time high, a rule, then the
/// samples as filled bars (oldest on the left) over labels saying how long ago each was.
fn graph(series: &EventSeries, now: u64) -> String {
    let samples: Vec<Sample> = series.samples().collect();
    let high = samples.iter().map(|s| s.latency_ms).max().unwrap_or(0);
    let low = samples.iter().map(|s| s.latency_ms).min().unwrap_or(0);
    let mut out = format!(
        "{} - high {high} ms, low {low} ms (all time high {} ms)\n{}\n",
        series.event.name(),
        series.max_ms,
        "-".repeat(GRAPH_COLUMNS)
    );
    let labels: Vec<String> = samples
        .iter()
        .map(|s| {
            let ago = now.saturating_sub(s.time);
            match ago {
                0..60 => format!("{ago}s"),
                60..3600 => format!("{}m", ago / 60),
                3600..86400 => format!("{}h", ago / 3600),
                _ => format!("{}d", ago / 86400),
            }
        })
        .collect();
    let values: Vec<f64> = samples.iter().map(|s| f64::from(s.latency_ms)).collect();
    for (block, (values_here, labels_here)) in values
        .chunks(GRAPH_COLUMNS)
        .zip(labels.chunks(GRAPH_COLUMNS))
        .enumerate()
    {
        if block > 0 {
            out.push('\n');
        }
        sparkline(
            &mut out,
            values_here,
            labels_here,
            f64::from(low),
            f64::from(high),
        );
    }
    out
}

/// Draws one block of a filled sparkline as Redis's `sparklineRenderRange`: each column's
/// height in `GRAPH_ROWS * 3` steps between the series' `min` and `max` (the top of a column
/// is `_`, `o` or `#`, below it `|`), then a blank line and the labels written downwards.
fn sparkline(out: &mut String, values: &[f64], labels: &[String], min: f64, max: f64) {
    const TOPS: [char; 3] = ['_', 'o', '#'];
    let steps = (TOPS.len() * GRAPH_ROWS) as f64;
    let range = if max - min == 0.0 { 1.0 } else { max - min };
    let heights: Vec<usize> = values
        .iter()
        .map(|&value| {
            // Truncations as in Redis: the scaled value first, then the quotient.
            let step = ((((value - min) * steps) as i64) as f64 / range) as i64;
            step.clamp(0, steps as i64 - 1) as usize
        })
        .collect();
    for row in 0..GRAPH_ROWS {
        let floor = (GRAPH_ROWS - row - 1) * TOPS.len();
        for &height in &heights {
            out.push(match height.checked_sub(floor) {
                Some(top) if top < TOPS.len() => TOPS[top],
                Some(_) => '|',
                None => ' ',
            });
        }
        out.push('\n');
    }
    out.push_str(&" ".repeat(values.len()));
    out.push('\n');
    let tallest = labels.iter().map(String::len).max().unwrap_or(0);
    for line in 0..tallest {
        for label in labels {
            out.push(label.as_bytes().get(line).map_or(' ', |&b| char::from(b)));
        }
        out.push('\n');
    }
}

/// Redis's statistics of one event for DOCTOR.
struct EventAnalysis {
    samples: u64,
    avg_ms: u64,
    /// Mean absolute deviation from the average.
    mad_ms: u64,
    /// Seconds since the oldest sample (at least 1).
    period_s: u64,
}

fn analyze(series: &EventSeries, now: u64) -> EventAnalysis {
    let samples: Vec<Sample> = series.samples().collect();
    let count = samples.len() as u64;
    if count == 0 {
        return EventAnalysis {
            samples: 0,
            avg_ms: 0,
            mad_ms: 0,
            period_s: 0,
        };
    }
    let sum: u64 = samples.iter().map(|s| u64::from(s.latency_ms)).sum();
    let avg_ms = sum / count;
    let oldest = samples.iter().map(|s| s.time).min().unwrap_or(now);
    let deviation: u64 = samples
        .iter()
        .map(|s| avg_ms.abs_diff(u64::from(s.latency_ms)))
        .sum();
    EventAnalysis {
        samples: count,
        avg_ms,
        mad_ms: deviation / count,
        period_s: now.saturating_sub(oldest).max(1),
    }
}

/// LATENCY DOCTOR: Redis's report on the recorded events, with its advice.
pub fn latency_doctor(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let now = crate::clock::unix_ms() / 1000;
    let report = doctor_report(ctx.server, now, crate::process::anon_huge_pages_bytes());
    ctx.out.verbatim(report.as_bytes());
    Ok(())
}

/// The text of LATENCY DOCTOR, in Redis's words. `huge_pages` is the process's anonymous
/// huge pages in bytes (a source of latency Redis warns about).
fn doctor_report(server: &Server, now: u64, huge_pages: u64) -> String {
    let config = &server.config;
    let events = &server.latency.events;
    if events.is_empty() && config.latency_monitor_threshold == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis \
                instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" \
                in order to enable it. If we weren't in a deep space mission I'd suggest to take \
                a look at https://redis.io/topics/latency-monitor.\n"
            .to_string();
    }
    let mut report = String::new();
    let (mut slowlog_enabled, mut slowlog_tuning, mut slowlog_inspect) = (false, false, false);
    let (mut scheduler, mut hz, mut large_objects) = (false, false, false);
    let mut advices = 0;
    for (number, series) in events.iter().enumerate() {
        if number == 0 {
            report.push_str(
                "Dave, I have observed latency spikes in this Redis instance. You don't mind \
                 talking about it, do you Dave?\n\n",
            );
        }
        let analysis = analyze(series, now);
        let _ = write!(
            report,
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). \
             Worst all time event {}ms.",
            number + 1,
            series.event.name(),
            analysis.samples,
            analysis.avg_ms,
            analysis.mad_ms,
            analysis.period_s as f64 / analysis.samples.max(1) as f64,
            series.max_ms
        );
        match series.event {
            LatencyEvent::Command => {
                if config.slowlog_log_slower_than < 0 {
                    slowlog_enabled = true;
                    advices += 1;
                } else if config.slowlog_log_slower_than as u64 / 1000
                    > config.latency_monitor_threshold
                {
                    slowlog_tuning = true;
                    advices += 1;
                }
                slowlog_inspect = true;
                large_objects = true;
                advices += 2;
            }
            LatencyEvent::FastCommand => {
                scheduler = true;
                advices += 1;
            }
            LatencyEvent::ExpireCycle => {
                hz = true;
                large_objects = true;
                advices += 2;
            }
            LatencyEvent::EvictionCycle => {
                large_objects = true;
                advices += 1;
            }
        }
        report.push('\n');
    }
    let huge_pages = huge_pages > 0;
    if huge_pages {
        advices += 1;
    }
    if events.is_empty() && advices == 0 {
        report.push_str(
            "Dave, no latency spike was observed during the lifetime of this Redis instance, not \
             in the slightest bit. I honestly think you ought to sit down calmly, take a stress \
             pill, and think things over.\n",
        );
        return report;
    }
    if !events.is_empty() && advices == 0 {
        report.push_str(
            "\nWhile there are latency events logged, I'm not able to suggest any easy fix. \
             Please use the Redis community to get some help, providing this report in your \
             help request.\n",
        );
        return report;
    }
    report.push_str("\nI have a few advices for you:\n\n");
    let threshold_us = config.latency_monitor_threshold.saturating_mul(1000);
    if slowlog_enabled {
        let _ = writeln!(
            report,
            "- There are latency issues with potentially slow commands you are using. Try to \
             enable the Slow Log Redis feature using the command 'CONFIG SET \
             slowlog-log-slower-than {threshold_us}'. If the Slow log is disabled Redis is not \
             able to log slow commands execution for you."
        );
    }
    if slowlog_tuning {
        let _ = writeln!(
            report,
            "- Your current Slow Log configuration only logs events that are slower than your \
             configured latency monitor threshold. Please use 'CONFIG SET \
             slowlog-log-slower-than {threshold_us}'."
        );
    }
    if slowlog_inspect {
        report.push_str(
            "- Check your Slow Log to understand what are the commands you are running which \
             are too slow to execute. Please check https://redis.io/commands/slowlog for more \
             information.\n",
        );
    }
    if scheduler {
        report.push_str(
            "- The system is slow to execute Redis code paths not containing system calls. This \
             usually means the system does not provide Redis CPU time to run for long periods. \
             You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for \
             Redis if you are running other software in the same system.\n  3) Check if you \
             have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli \
             --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check \
             if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you \
             are using Jemalloc. However this may create fragmentation problems.\n",
        );
    }
    if hz && config.hz < 100 {
        report.push_str(
            "- In order to make the Redis keys expiring process more incremental, try to set \
             the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n",
        );
    }
    if large_objects {
        report.push_str(
            "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a \
             blocking operation. If you have very large objects that are often deleted, \
             expired, or evicted, try to fragment those objects into multiple smaller \
             objects.\n",
        );
    }
    if huge_pages {
        report.push_str(
            "- I detected a non zero amount of anonymous huge pages used by your process. This \
             creates very serious latency events in different conditions, especially when \
             Redis is persisting on disk. To disable THP support use the command 'echo never > \
             /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into \
             /etc/rc.local so that the command will be executed again after a reboot. Note \
             that even if you have already disabled THP, you still need to restart the Redis \
             process to get rid of the huge pages already created.\n",
        );
    }
    report
}

pub fn latency_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    help_reply(
        ctx,
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::Harness;

    fn histogram_of(usecs: &[u64]) -> LatencyHistogram {
        let mut histogram = LatencyHistogram::new();
        for &usec in usecs {
            histogram.record_usec(usec);
        }
        histogram
    }

    #[test]
    fn cumulative_buckets_are_redis_powers_of_two() {
        // 1 µs = 1000 ns falls in the first bucket (up to 1031 ns: "1"), 3 µs in the one up to
        // 4127 ns ("4"), 40 µs in the one up to 66047 ns ("66"); empty steps are left out.
        let histogram = histogram_of(&[1, 1, 0, 3, 40]);
        assert_eq!(histogram.calls(), 5);
        assert_eq!(
            histogram.cumulative_buckets(),
            vec![(1, 3), (4, 4), (66, 5)]
        );
        let steady = histogram_of(&[2, 5, 9, 17, 30]);
        assert_eq!(
            steady.cumulative_buckets(),
            vec![(2, 1), (8, 2), (16, 3), (33, 5)]
        );
        // Beyond a second counts as a second, reported at the end of the counters.
        assert_eq!(
            histogram_of(&[2_000_000]).cumulative_buckets(),
            vec![(1_073_741, 1)]
        );
    }

    #[test]
    fn percentiles_are_hdr_histogram_values() {
        let histogram = histogram_of(&[1, 1, 1, 10]);
        assert_eq!(
            histogram.percentiles_usec(&[0.0, 50.0, 99.0, 100.0]),
            vec![1.0, 1.003, 10.047, 10.047]
        );
    }

    #[test]
    fn counters_are_laid_out_as_hdr_histogram_lays_them_out() {
        let hdr = Histogram::<u64>::new_with_bounds(
            HISTOGRAM_LOWEST_NS,
            HISTOGRAM_HIGHEST_NS,
            HISTOGRAM_SIGNIFICANT_DIGITS,
        )
        .expect("valid bounds");
        assert_eq!(hdr.distinct_values(), COUNTERS);
        let mut values: Vec<u64> = (1..5000).collect();
        values.extend((0..64).map(|shift| (1u64 << shift).min(HISTOGRAM_HIGHEST_NS)));
        values.extend((1..=1000).map(|n| n * 999_983 % HISTOGRAM_HIGHEST_NS + 1));
        values.push(HISTOGRAM_HIGHEST_NS);
        for ns in values {
            let index = counter_index(ns);
            assert!(index < COUNTERS, "{ns}");
            assert_eq!(counter_value(index), hdr.lowest_equivalent(ns), "{ns}");
        }
    }

    #[test]
    fn samples_keep_the_worst_of_a_second_and_the_latest_160() {
        let mut monitor = LatencyMonitor::default();
        monitor.add_sample(LatencyEvent::Command, 30, 100);
        monitor.add_sample(LatencyEvent::Command, 50, 100);
        monitor.add_sample(LatencyEvent::Command, 20, 100);
        let series = monitor.find(b"command").expect("recorded");
        assert_eq!(series.samples().count(), 1);
        assert_eq!(series.latest().latency_ms, 50);
        for second in 101..=300 {
            monitor.add_sample(LatencyEvent::Command, second, second);
        }
        let series = monitor.find(b"command").expect("recorded");
        let times: Vec<u64> = series.samples().map(|s| s.time).collect();
        assert_eq!(times.len(), SAMPLES_PER_EVENT);
        assert_eq!((times[0], times[159]), (141, 300));
        assert_eq!(series.max_ms, 300);
        assert!(
            monitor.find(b"COMMAND").is_none(),
            "names are compared with case"
        );
        monitor.add_sample(LatencyEvent::ExpireCycle, 5, 1);
        assert_eq!(monitor.reset(Some(b"Command")), 1);
        assert_eq!(monitor.reset(Some(b"nosuch")), 0);
        assert_eq!(monitor.reset(None), 1);
        assert!(monitor.is_empty());
    }

    #[test]
    fn graph_draws_as_redis() {
        // Redis 7.0.15 drew this for samples of 50, 20, 30, 80, 10, 60 ms taken 6 s to 1 s ago.
        let mut monitor = LatencyMonitor::default();
        for (ago, ms) in [(6, 50), (5, 20), (4, 30), (3, 80), (2, 10), (1, 60)] {
            monitor.add_sample(LatencyEvent::Command, ms, 1000 - ago);
        }
        let series = monitor.find(b"command").expect("recorded");
        assert_eq!(
            graph(series, 1000),
            format!(
                "command - high 80 ms, low 10 ms (all time high 80 ms)\n{}\n   #  \n_  | #\n\
                 | _| |\n|o||_|\n      \n654321\nssssss\n",
                "-".repeat(80)
            )
        );
    }

    #[test]
    fn graph_wraps_after_80_samples() {
        let mut monitor = LatencyMonitor::default();
        for second in 0..100 {
            monitor.add_sample(LatencyEvent::Command, 10, 1000 + second);
        }
        let series = monitor.find(b"command").expect("recorded");
        let text = graph(series, 1100);
        let lines: Vec<&str> = text.lines().collect();
        // Title, rule, then 4 bar rows, a spacer and 3 label rows ("1m", "59s") per block,
        // a blank line between blocks.
        assert_eq!(lines.len(), 2 + 8 + 1 + 8, "{text}");
        assert_eq!(lines[5].len(), 80);
        assert_eq!(lines[10], "");
        assert_eq!(lines[11].len(), 20);
    }

    #[test]
    fn doctor_reports_events_and_advice() {
        let mut h = Harness::new();
        let report = doctor_report(&h.server, 0, 0);
        assert!(
            report.starts_with("I'm sorry, Dave, I can't do that."),
            "{report}"
        );
        h.run(&["config", "set", "latency-monitor-threshold", "100"]);
        let report = doctor_report(&h.server, 0, 0);
        assert!(
            report.starts_with("Dave, no latency spike was observed"),
            "{report}"
        );
        h.server.latency.add_sample(LatencyEvent::Command, 300, 90);
        h.server.latency.add_sample(LatencyEvent::Command, 500, 95);
        let report = doctor_report(&h.server, 100, 0);
        assert!(
            report.contains(
                "1. command: 2 latency spikes (average 400ms, mean deviation 100ms, period 5.00 \
                 sec). Worst all time event 500ms.\n"
            ),
            "{report}"
        );
        assert!(report.contains("- Check your Slow Log"), "{report}");
        assert!(!report.contains("huge pages"), "{report}");
        assert!(doctor_report(&h.server, 100, 4096).contains("anonymous huge pages"));
    }

    #[test]
    fn histogram_replies_name_commands_and_subcommands() {
        let mut h = Harness::new();
        h.run(&["config", "resetstat"]);
        h.run(&["client", "id"]);
        h.run(&["set", "a", "b"]);
        let reply = h.text(&["latency", "histogram", "client", "nosuch", "set|x", "SET"]);
        assert!(
            reply.starts_with(
                "*4\r\n$9\r\nclient|id\r\n*4\r\n$5\r\ncalls\r\n:1\r\n$14\r\nhistogram_usec\r\n*"
            ),
            "{reply}"
        );
        assert!(
            reply.contains("$3\r\nset\r\n*4\r\n$5\r\ncalls\r\n:1\r\n"),
            "{reply}"
        );
        assert_eq!(h.text(&["latency", "histogram", "get"]), "*0\r\n");
        let all = h.text(&["latency", "histogram"]);
        assert!(
            all.starts_with("*8\r\n"),
            "client|id, config|resetstat, set, latency|histogram: {all}"
        );
        h.run(&["config", "set", "latency-tracking", "no"]);
        h.run(&["get", "a"]);
        assert_eq!(h.text(&["latency", "histogram", "get"]), "*0\r\n");
        assert_eq!(
            h.text(&["info", "latencystats"]),
            "$16\r\n# Latencystats\r\n\r\n"
        );
    }

    #[test]
    fn latencystats_print_the_configured_percentiles() {
        let mut h = Harness::new();
        h.run(&[
            "config",
            "set",
            "latency-tracking-info-percentiles",
            "0 99.99",
        ]);
        h.run(&["config", "resetstat"]);
        let info = h.text(&["info", "latencystats"]);
        assert!(
            info.contains("\r\nlatency_percentiles_usec_config|resetstat:p0=")
                && info.contains(",p99.99="),
            "{info}"
        );
        assert_eq!(
            h.text(&["config", "get", "latency-tracking-info-percentiles"]),
            "*2\r\n$33\r\nlatency-tracking-info-percentiles\r\n$7\r\n0 99.99\r\n"
        );
        h.run(&["config", "set", "latency-tracking-info-percentiles", ""]);
        let info = h.text(&["info", "latencystats"]);
        assert!(
            info.contains("latency_percentiles_usec_config|resetstat:\r\n"),
            "{info}"
        );
    }

    #[test]
    fn monitor_replies_match_redis_shapes() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["latency", "latest"], "*0\r\n"),
            (&["latency", "history", "command"], "*0\r\n"),
            (&["latency", "reset"], ":0\r\n"),
            (
                &["latency", "graph", "command"],
                "-ERR No samples available for event 'command'\r\n",
            ),
            (
                &["latency", "help", "x"],
                "-ERR wrong number of arguments for 'latency|help' command\r\n",
            ),
        ]);
        h.server
            .latency
            .add_sample(LatencyEvent::Command, 250, 1_000);
        h.server
            .latency
            .add_sample(LatencyEvent::Command, 120, 1_001);
        h.assert_replies(&[
            (
                &["latency", "latest"],
                "*1\r\n*4\r\n$7\r\ncommand\r\n:1001\r\n:120\r\n:250\r\n",
            ),
            (
                &["latency", "history", "command"],
                "*2\r\n*2\r\n:1000\r\n:250\r\n*2\r\n:1001\r\n:120\r\n",
            ),
            (&["latency", "reset", "blabla", "COMMAND"], ":1\r\n"),
            (&["latency", "latest"], "*0\r\n"),
        ]);
    }

    #[test]
    fn slow_commands_are_sampled_by_their_fast_flag() {
        let mut h = Harness::new();
        let (get, keys) = (lookup(b"get").expect("get"), lookup(b"keys").expect("keys"));
        sample_command_if_slow(&mut h.server, keys, 999_000);
        assert!(h.server.latency.is_empty(), "threshold 0 records nothing");
        h.run(&["config", "set", "latency-monitor-threshold", "2"]);
        sample_command_if_slow(&mut h.server, get, 1_999);
        assert!(h.server.latency.is_empty());
        sample_command_if_slow(&mut h.server, get, 2_000);
        sample_command_if_slow(&mut h.server, keys, 3_000);
        sample_if_slow(&mut h.server, LatencyEvent::ExpireCycle, 2_500);
        let names: Vec<&str> = h
            .server
            .latency
            .events
            .iter()
            .map(|s| s.event.name())
            .collect();
        assert_eq!(names, ["fast-command", "command", "expire-cycle"]);
    }
}
