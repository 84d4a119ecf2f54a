//! Geo commands (GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH, GEOSEARCHSTORE and the legacy
//! GEORADIUS family) over sorted sets whose scores are 52-bit geohashes, with Redis 7.0's
//! argument rules, error texts and reply shapes: distances as bulk strings with four
//! decimals, coordinates as `%.17Lf` with trailing zeros removed (doubles in RESP3).

use super::args::is_keyword;
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::protocol::ReplyBuf;
use crate::store::geo::{search, GeoMatch, GeoOrder, GeoQuery};
use crate::store::geohash::{self, Shape, ShapeKind};
use crate::store::sorted_set::{parse_score, SortedSet};
use crate::store::zset::ZAddFlags;

/// A float argument read as Redis's `getDoubleFromObject` (strtod, whole argument, no NaN,
/// no overflow), with `error` as the refusal.
fn float_or(arg: &[u8], error: fn() -> CmdError) -> Result<f64, CmdError> {
    parse_score(arg).map_err(|_| error())
}

/// A longitude and latitude pair, both floats, inside the range a geohash can encode.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let lon = float_or(lon, || CmdError::NotFloat)?;
    let lat = float_or(lat, || CmdError::NotFloat)?;
    if !geohash::is_valid_lon_lat(lon, lat) {
        return Err(CmdError::msg(format!(
            "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
        )));
    }
    Ok((lon, lat))
}

/// Meters per unit for a unit name (`m`, `km`, `ft`, `mi`, any case).
fn unit(arg: &[u8]) -> Result<f64, CmdError> {
    const UNITS: [(&str, f64); 4] = [("m", 1.0), ("km", 1000.0), ("ft", 0.3048), ("mi", 1609.34)];
    UNITS
        .iter()
        .find(|(name, _)| is_keyword(arg, name))
        .map(|&(_, meters)| meters)
        .ok_or_else(|| CmdError::msg("ERR unsupported unit provided. please use M, KM, FT, MI"))
}

/// A radius and its unit (`radius unit`).
fn radius(args: &[&[u8]]) -> Result<(ShapeKind, f64), CmdError> {
    let radius = float_or(args[0], || CmdError::msg("ERR need numeric radius"))?;
    if radius < 0.0 {
        return Err(CmdError::msg("ERR radius cannot be negative"));
    }
    Ok((ShapeKind::Radius(radius), unit(args[1])?))
}

/// A box's width, height and unit (`width height unit`).
fn box_shape(args: &[&[u8]]) -> Result<(ShapeKind, f64), CmdError> {
    let width = float_or(args[0], || CmdError::msg("ERR need numeric width"))?;
    let height = float_or(args[1], || CmdError::msg("ERR need numeric height"))?;
    if height < 0.0 || width < 0.0 {
        return Err(CmdError::msg("ERR height or width cannot be negative"));
    }
    Ok((ShapeKind::Box { width, height }, unit(args[2])?))
}

/// The point a member's score stands for.
fn member_position(set: &SortedSet, member: &[u8]) -> Result<(f64, f64), CmdError> {
    set.score(member)
        .map(geohash::decode_score)
        .ok_or_else(|| CmdError::msg("ERR could not decode requested zset member"))
}

/// A distance as Redis writes it: rounded to four decimals (half to even on the scaled
/// value, as `llrint`), as a bulk string in both protocols.
fn reply_distance(out: &mut ReplyBuf, distance: f64) {
    if distance == 0.0 {
        out.bulk(b"0.0000");
        return;
    }
    let scaled = (distance * 10000.0).round_ties_even();
    // Out of range (or NaN), the hardware's conversion gives i64::MIN, as Redis prints it.
    let scaled = if scaled.is_finite() && scaled.abs() < 9.2e18 {
        scaled as i64
    } else {
        i64::MIN
    };
    let sign = if scaled < 0 { "-" } else { "" };
    let magnitude = scaled.unsigned_abs();
    let text = format!("{sign}{}.{:04}", magnitude / 10000, magnitude % 10000);
    out.bulk(text.as_bytes());
}

/// A coordinate as Redis's `addReplyHumanLongDouble`: `%.17Lf` without trailing zeros, a
/// bulk string in RESP2, a double in RESP3.
fn reply_coordinate(out: &mut ReplyBuf, value: f64) {
    let mut text = format!("{value:.17}");
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed);
    }
    if text == "-0" {
        text = "0".to_string();
    }
    if out.is_resp3() {
        out.raw(b",");
        out.raw(text.as_bytes());
        out.raw(b"\r\n");
    } else {
        out.bulk(text.as_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// GEOADD
// ---------------------------------------------------------------------------------------------

pub fn geoadd(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut flags = ZAddFlags::default();
    let mut ch = false;
    while let Some(opt) = args.peek() {
        if is_keyword(opt, "nx") {
            flags.nx = true;
        } else if is_keyword(opt, "xx") {
            flags.xx = true;
        } else if is_keyword(opt, "ch") {
            ch = true;
        } else {
            break;
        }
        args.bytes()?;
    }
    let rest = args.rest();
    if rest.is_empty() || !rest.len().is_multiple_of(3) || (flags.nx && flags.xx) {
        return Err(CmdError::Syntax);
    }
    let mut pairs = Vec::with_capacity(rest.len() / 3);
    for triple in rest.chunks_exact(3) {
        let (lon, lat) = lon_lat(triple[0], triple[1])?;
        // Valid coordinates always encode.
        let score = geohash::score_of(lon, lat).ok_or(CmdError::Syntax)?;
        pairs.push((score, triple[2]));
    }
    let outcome = ctx.db().zadd(key, flags, &pairs)?;
    let changed = outcome.added + outcome.updated;
    ctx.out.int(if ch { changed } else { outcome.added } as i64);
    if changed > 0 {
        ctx.notify(KeyspaceEvents::ZSET, "zadd", key);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// GEODIST, GEOHASH, GEOPOS
// ---------------------------------------------------------------------------------------------

pub fn geodist(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, first, second) = (args.bytes()?, args.bytes()?, args.bytes()?);
    let meters_per_unit = match args.rest() {
        [] => 1.0,
        [name] => unit(name)?,
        _ => return Err(CmdError::Syntax),
    };
    let mut db = ctx.ks.db(ctx.client.db);
    let positions = db.zset(key)?.and_then(|zset| {
        let set = zset.set();
        Some((set.score(first)?, set.score(second)?))
    });
    match positions {
        Some((a, b)) => {
            let (lon1, lat1) = geohash::decode_score(a);
            let (lon2, lat2) = geohash::decode_score(b);
            let meters = geohash::distance(lon1, lat1, lon2, lat2);
            reply_distance(ctx.out, meters / meters_per_unit);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn geohash(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let members = args.rest();
    let mut db = ctx.ks.db(ctx.client.db);
    let set = db.zset(key)?.map(|zset| zset.set());
    ctx.out.array(members.len());
    for member in members {
        match set.and_then(|set| set.score(member)) {
            Some(score) => ctx.out.bulk(&geohash::geohash_text(score)),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

pub fn geopos(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let members = args.rest();
    let mut db = ctx.ks.db(ctx.client.db);
    let set = db.zset(key)?.map(|zset| zset.set());
    ctx.out.array(members.len());
    for member in members {
        match set.and_then(|set| set.score(member)) {
            Some(score) => {
                let (lon, lat) = geohash::decode_score(score);
                ctx.out.array(2);
                reply_coordinate(ctx.out, lon);
                reply_coordinate(ctx.out, lat);
            }
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// GEOSEARCH, GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER (and the _RO forms)
// ---------------------------------------------------------------------------------------------

/// Which member of the search family runs: where its fixed arguments end and which options
/// it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS key lon lat radius unit ...; `store`: STORE/STOREDIST allowed.
    Radius { store: bool },
    /// GEORADIUSBYMEMBER key member radius unit ...
    RadiusByMember { store: bool },
    /// GEOSEARCH key ...
    Search,
    /// GEOSEARCHSTORE dst key ...
    SearchStore,
}

impl Form {
    fn is_search(self) -> bool {
        matches!(self, Form::Search | Form::SearchStore)
    }
}

/// Where a search's results go.
#[derive(Debug, Clone, Copy)]
struct Destination<'a> {
    key: &'a [u8],
    /// Store distances as scores instead of geohashes.
    distances: bool,
}

/// What to add to each result of a search replied to the client.
#[derive(Debug, Clone, Copy, Default)]
struct Extras {
    distance: bool,
    hash: bool,
    coordinates: bool,
}

impl Extras {
    fn count(self) -> usize {
        usize::from(self.distance) + usize::from(self.hash) + usize::from(self.coordinates)
    }
}

pub fn geosearch(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    search_generic(ctx, args, Form::Search)
}

pub fn geosearchstore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    search_generic(ctx, args, Form::SearchStore)
}

pub fn georadius(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    search_generic(ctx, args, Form::Radius { store: true })
}

pub fn georadius_ro(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    search_generic(ctx, args, Form::Radius { store: false })
}

pub fn georadiusbymember(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    search_generic(ctx, args, Form::RadiusByMember { store: true })
}

pub fn georadiusbymember_ro(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    search_generic(ctx, args, Form::RadiusByMember { store: false })
}

/// The whole family, checked in Redis's order: the source's type first, then each argument
/// in turn (a FROMMEMBER member is looked up where it appears), then the combinations.
fn search_generic(ctx: &mut Ctx, args: &mut Args, form: Form) -> CmdResult {
    // The name as the client spelled it, for the errors that quote it.
    let name = args.argv()[0];
    let argv = args.rest();
    // The table's arity guarantees these; checked again so no index below can panic.
    let fixed = match form {
        Form::Radius { .. } => 5,
        Form::RadiusByMember { .. } => 4,
        Form::Search => 1,
        Form::SearchStore => 2,
    };
    if argv.len() < fixed {
        return Err(args.wrong_arity());
    }
    let source_at = usize::from(form == Form::SearchStore);
    let source = argv[source_at];
    let mut db = ctx.ks.db(ctx.client.db);
    let set = db.zset(source)?.map(|zset| zset.set());

    let mut center: Option<(f64, f64)> = None;
    let mut shape: Option<(ShapeKind, f64)> = None;
    let mut destination: Option<Destination> = None;
    let options_at = match form {
        Form::Radius { .. } => {
            center = Some(lon_lat(argv[1], argv[2])?);
            shape = Some(radius(&argv[3..5])?);
            5
        }
        Form::RadiusByMember { .. } => {
            if let Some(set) = set {
                center = Some(member_position(set, argv[1])?);
                shape = Some(radius(&argv[2..4])?);
            }
            4
        }
        Form::Search => 1,
        Form::SearchStore => {
            destination = Some(Destination {
                key: argv[0],
                distances: false,
            });
            2
        }
    };

    let mut extras = Extras::default();
    let mut order = GeoOrder::Unsorted;
    let mut count = 0usize;
    let mut any = false;
    let mut store_distances = false;
    let (mut from_member, mut from_lon_lat, mut by_radius, mut by_box) =
        (false, false, false, false);
    let options = &argv[options_at..];
    let mut i = 0;
    while i < options.len() {
        let arg = options[i];
        let left = options.len() - i - 1;
        let can_store = matches!(
            form,
            Form::Radius { store: true } | Form::RadiusByMember { store: true }
        );
        if is_keyword(arg, "withdist") {
            extras.distance = true;
        } else if is_keyword(arg, "withhash") {
            extras.hash = true;
        } else if is_keyword(arg, "withcoord") {
            extras.coordinates = true;
        } else if is_keyword(arg, "any") {
            any = true;
        } else if is_keyword(arg, "asc") {
            order = GeoOrder::Asc;
        } else if is_keyword(arg, "desc") {
            order = GeoOrder::Desc;
        } else if is_keyword(arg, "count") && left >= 1 {
            let n = super::args::int_arg(options[i + 1])?;
            if n <= 0 {
                return Err(CmdError::msg("ERR COUNT must be > 0"));
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
            i += 1;
        } else if (is_keyword(arg, "store") || is_keyword(arg, "storedist"))
            && left >= 1
            && can_store
        {
            destination = Some(Destination {
                key: options[i + 1],
                distances: is_keyword(arg, "storedist"),
            });
            i += 1;
        } else if is_keyword(arg, "storedist") && form == Form::SearchStore {
            store_distances = true;
        } else if is_keyword(arg, "frommember") && left >= 1 && form.is_search() && !from_lon_lat {
            if let Some(set) = set {
                center = Some(member_position(set, options[i + 1])?);
            }
            from_member = true;
            i += 1;
        } else if is_keyword(arg, "fromlonlat") && left >= 2 && form.is_search() && !from_member {
            center = Some(lon_lat(options[i + 1], options[i + 2])?);
            from_lon_lat = true;
            i += 2;
        } else if is_keyword(arg, "byradius") && left >= 2 && form.is_search() && !by_box {
            shape = Some(radius(&options[i + 1..i + 3])?);
            by_radius = true;
            i += 2;
        } else if is_keyword(arg, "bybox") && left >= 3 && form.is_search() && !by_radius {
            shape = Some(box_shape(&options[i + 1..i + 4])?);
            by_box = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if let Some(dst) = destination.as_mut() {
        if form == Form::SearchStore {
            dst.distances = store_distances;
        }
    }

    if destination.is_some() && extras.count() > 0 {
        let what = if form == Form::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CmdError::msg(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    if form.is_search() && !(from_member || from_lon_lat) {
        return Err(CmdError::concat(&[
            b"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ",
            name,
        ]));
    }
    if form.is_search() && !(by_radius || by_box) {
        return Err(CmdError::concat(&[
            b"ERR exactly one of BYRADIUS and BYBOX can be specified for ",
            name,
        ]));
    }
    if any && count == 0 {
        return Err(CmdError::msg(
            "ERR the ANY argument requires COUNT argument",
        ));
    }

    let found: Vec<GeoMatch> = match (set, center, shape) {
        (Some(set), Some((lon, lat)), Some((kind, unit))) => {
            let query = GeoQuery {
                shape: Shape {
                    lon,
                    lat,
                    kind,
                    unit,
                },
                order,
                count,
                any,
            };
            search(set, &query)
        }
        // A missing source: nothing found (every other combination was refused above).
        _ => Vec::new(),
    };

    let Some(destination) = destination else {
        reply_matches(ctx.out, &found, extras);
        return Ok(());
    };
    let entries: Vec<(Box<[u8]>, f64)> = found
        .into_iter()
        .map(|point| {
            let score = if destination.distances {
                point.distance
            } else {
                point.score
            };
            (point.member, score)
        })
        .collect();
    let existed = db.exists(destination.key);
    let stored = db.geo_store(destination.key, &entries)?;
    if stored > 0 {
        let event = if form.is_search() {
            "geosearchstore"
        } else {
            "georadiusstore"
        };
        ctx.notify(KeyspaceEvents::ZSET, event, destination.key);
    } else if existed {
        ctx.notify(KeyspaceEvents::GENERIC, "del", destination.key);
    }
    ctx.out.int(stored as i64);
    Ok(())
}

/// The reply of a search without a destination: members, or per member an array of the
/// member and the extras asked for (distance, hash, coordinates, in that order).
fn reply_matches(out: &mut ReplyBuf, found: &[GeoMatch], extras: Extras) {
    out.array(found.len());
    let nested = extras.count();
    for point in found {
        if nested > 0 {
            out.array(nested + 1);
        }
        out.bulk(&point.member);
        if extras.distance {
            reply_distance(out, point.distance);
        }
        if extras.hash {
            out.int(point.score as i64);
        }
        if extras.coordinates {
            out.array(2);
            reply_coordinate(out, point.lon);
            reply_coordinate(out, point.lat);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn geoadd_and_point_reads() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (
                &[
                    "geoadd",
                    "Sicily",
                    "13.361389",
                    "38.115556",
                    "Palermo",
                    "15.087269",
                    "37.502669",
                    "Catania",
                ],
                ":2\r\n",
            ),
            (
                &["zscore", "Sicily", "Palermo"],
                "$16\r\n3479099956230698\r\n",
            ),
            (
                &["geodist", "Sicily", "Palermo", "Catania"],
                "$11\r\n166274.1516\r\n",
            ),
            (
                &["geodist", "Sicily", "Palermo", "Catania", "km"],
                "$8\r\n166.2742\r\n",
            ),
            (&["geodist", "Sicily", "Palermo", "nope"], "$-1\r\n"),
            (
                &["geodist", "Sicily", "Palermo", "Catania", "parsec"],
                "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n",
            ),
            (
                &["geohash", "Sicily", "Palermo", "nope"],
                "*2\r\n$11\r\nsqc8b49rny0\r\n$-1\r\n",
            ),
            (
                &["geopos", "Sicily", "Palermo", "nope"],
                "*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n",
            ),
            (
                &["geoadd", "Sicily", "200", "100", "x"],
                "-ERR invalid longitude,latitude pair 200.000000,100.000000\r\n",
            ),
            (
                &["geoadd", "Sicily", "xx", "nx", "1", "2", "x"],
                "-ERR syntax error\r\n",
            ),
            (&["geoadd", "Sicily", "ch", "13", "38", "Palermo"], ":1\r\n"),
        ]);
    }

    #[test]
    fn searches_reply_in_redis_shapes() {
        let mut h = Harness::new();
        h.run(&[
            "geoadd",
            "Sicily",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ]);
        h.assert_replies(&[
            (
                &["geosearch", "Sicily", "fromlonlat", "15", "37", "byradius", "200", "km", "asc", "withdist"],
                "*2\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n",
            ),
            (
                &["georadius", "Sicily", "15", "37", "200", "km", "count", "1", "withhash"],
                "*1\r\n*2\r\n$7\r\nCatania\r\n:3479447370796909\r\n",
            ),
            (&["geosearch", "Sicily", "byradius", "1", "km", "asc", "desc"], "-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearch\r\n"),
            (&["geosearch", "Sicily", "frommember", "Palermo", "asc", "desc", "asc"], "-ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch\r\n"),
            (&["geosearch", "Sicily", "frommember", "nope", "bybox", "1", "1", "km"], "-ERR could not decode requested zset member\r\n"),
            (&["georadius", "Sicily", "15", "37", "200", "km", "any"], "-ERR the ANY argument requires COUNT argument\r\n"),
            (&["georadius_ro", "Sicily", "15", "37", "200", "km", "store", "x"], "-ERR syntax error\r\n"),
            (&["georadius", "Sicily", "15", "37", "200", "km", "store", "x", "withdist"], "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"),
            (&["geosearchstore", "dst", "Sicily", "frommember", "Palermo", "byradius", "500", "km", "storedist"], ":2\r\n"),
            (&["zrange", "dst", "0", "-1"], "*2\r\n$7\r\nPalermo\r\n$7\r\nCatania\r\n"),
            (&["geosearchstore", "dst", "nokey", "frommember", "Palermo", "byradius", "500", "km"], ":0\r\n"),
            (&["exists", "dst"], ":0\r\n"),
        ]);
    }
}
