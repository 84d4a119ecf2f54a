//! Geo commands against a real redis-server 7.0: differential scripts for every command and
//! option (errors included, RESP3 shapes, STORE/STOREDIST results) and randomized runs that
//! load thousands of random points and compare searches, distances, coordinates and geohashes
//! digit for digit, in Redis's own result order.
//!
//! To check a script itself, run it with real Redis on both sides:
//! `REDDISH_TEST_BIN=$(command -v redis-server) cargo test --release --test geo`.

mod common;

use common::{differential, Compare, Differential};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const SICILY: &str = r#"
    GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
    GEOADD Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2
    GEOADD Sicily 13.5833332 37.316667 Agrigento 12.5 37.8 Marsala
"#;

#[test]
fn geoadd_options_and_errors() {
    differential(
        r#"
        GEOADD nyc -73.9454966 40.747533 "lic market"
        GEOADD nyc -73.9454966 40.747533 "lic market"
        GEOADD nyc CH -73.9454 40.74 "lic market" -73.9 40.7 other
        GEOADD nyc NX -73.9 40.7 "lic market" -73.8 40.6 third
        GEOADD nyc XX -73.9 40.7 "lic market" -73.8 40.6 fourth
        GEOADD nyc XX CH -73.91 40.71 "lic market"
        GEOADD nyc CH NX -73.91 40.71 "lic market" -73.7 40.5 fifth
        GEOADD nyc ch xx nx 1 2 x
        GEOADD nyc XX NX 1 2 x
        GEOADD nyc GT 1 2 x
        GEOADD nyc 1 2 x 3 4
        GEOADD nyc NX CH XX
        GEOADD nyc CH CH CH
        GEOADD nyc 200 100 bad
        GEOADD nyc 180.000001 0 bad
        GEOADD nyc 0 85.05112879 bad
        GEOADD nyc 0 -85.05112879 bad
        GEOADD nyc 1 2 ok -200 0 bad
        GEOADD nyc abc 2 bad
        GEOADD nyc 1 abc bad
        GEOADD nyc 1e400 2 bad
        GEOADD nyc inf 2 bad
        GEOADD nyc " 1" 2 bad
        GEOADD nyc 0x10 2 hex
        GEOADD nyc 180 85.05112878 corner -180 -85.05112878 corner2 0 0 origin
        ZRANGE nyc 0 -1 WITHSCORES
        GEOADD nyc
        GEOADD nyc 1 2
        SET str v
        GEOADD str 1 2 x
        GEOADD newkey XX 1 2 x
        EXISTS newkey
        OBJECT ENCODING nyc
        "#,
    );
}

#[test]
fn geodist_geohash_and_geopos() {
    differential(&format!(
        r#"
        {SICILY}
        GEODIST Sicily Palermo Catania
        GEODIST Sicily Palermo Catania m
        GEODIST Sicily Palermo Catania KM
        GEODIST Sicily Palermo Catania mi
        GEODIST Sicily Palermo Catania Ft
        GEODIST Sicily Palermo Catania parsecs
        GEODIST Sicily Palermo Catania km extra
        GEODIST Sicily Palermo Palermo
        GEODIST Sicily Palermo nobody
        GEODIST Sicily nobody Palermo
        GEODIST nokey a b
        GEODIST nokey a b parsecs
        GEODIST Sicily a
        GEOHASH Sicily Palermo Catania nobody edge1 edge2
        GEOHASH Sicily
        GEOHASH nokey a b
        GEOPOS Sicily Palermo Catania nobody edge1 edge2 Marsala
        GEOPOS Sicily
        GEOPOS nokey a b
        ZADD Sicily -1 negative 0 zero 0.5 half 4503599627370495 max52 9007199254740992 big 1e30 huge
        GEOPOS Sicily negative zero half max52 big huge
        GEOHASH Sicily negative zero half max52 big huge
        GEODIST Sicily zero max52
        GEOADD corners 180 85.05112878 ne -180 -85.05112878 sw 180 -85.05112878 se -180 85.05112878 nw
        GEOPOS corners ne sw se nw
        GEOHASH corners ne sw se nw
        GEODIST corners ne sw
        GEODIST corners ne nw
        SET str v
        GEODIST str a b
        GEOHASH str a
        GEOPOS str a
        @any HELLO 3
        GEOPOS Sicily Palermo nobody zero
        GEOHASH Sicily Palermo nobody
        GEODIST Sicily Palermo Catania
        GEODIST Sicily Palermo nobody
        "#
    ));
}

#[test]
fn search_option_errors() {
    differential(&format!(
        r#"
        {SICILY}
        GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 200 km
        GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCH Sicily BYRADIUS 200 km ASC DESC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km BYBOX 1 1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 km BYRADIUS 200 km
        GEOSEARCH Sicily FROMLONLAT 15 37 ASC DESC ASC
        geosearch Sicily fromlonlat 15 37 asc desc asc
        GeoSearch Sicily byradius 1 km asc desc
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE dst
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS -1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS abc km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 parsec
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 -1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX x 1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 y km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 parsec
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1
        GEOSEARCH Sicily FROMLONLAT 200 37 BYRADIUS 1 km
        GEOSEARCH Sicily FROMLONLAT abc 37 BYRADIUS 1 km
        GEOSEARCH Sicily FROMMEMBER nobody BYRADIUS 1 km
        GEOSEARCH Sicily FROMMEMBER nobody BYRADIUS x km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 0
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT -1
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT x
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ANY
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km bogus
        GEOSEARCH nokey FROMMEMBER nobody BYRADIUS 1 km
        GEOSEARCH nokey FROMMEMBER nobody BYRADIUS x km
        GEOSEARCH nokey FROMLONLAT 15 37 BYRADIUS 1 km ANY
        GEOSEARCH nokey FROMLONLAT 15 37 BYRADIUS 1 km WITHDIST
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHHASH
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHCOORD
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x
        GEOSEARCHSTORE dst Sicily BYRADIUS 200 km ASC DESC
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 ASC DESC ASC
        GEORADIUS Sicily 15 37 200 km WITHDIST STORE dst
        GEORADIUS Sicily 15 37 200 km STOREDIST dst WITHCOORD
        GEORADIUS Sicily 15 37 200 km STORE
        GEORADIUS Sicily 15 37 200 km FROMLONLAT 1 2
        GEORADIUS Sicily 15 37 200 km BYRADIUS 1 km
        GEORADIUS Sicily 15 37 -200 km
        GEORADIUS Sicily 15 37 x km
        GEORADIUS Sicily 15 37 200 parsec
        GEORADIUS Sicily 200 37 200 km
        GEORADIUS Sicily 15 x 200 km
        GEORADIUS Sicily 15 37 200 km COUNT 0
        GEORADIUS Sicily 15 37 200 km ANY
        GEORADIUS_RO Sicily 15 37 200 km STORE dst
        GEORADIUS_RO Sicily 15 37 200 km STOREDIST dst
        GEORADIUSBYMEMBER Sicily nobody 200 km
        GEORADIUSBYMEMBER Sicily Palermo -1 km
        GEORADIUSBYMEMBER Sicily Palermo 1 parsec
        GEORADIUSBYMEMBER Sicily Palermo 200 km WITHHASH STORE dst
        GEORADIUSBYMEMBER_RO Sicily Palermo 200 km STORE dst
        GEORADIUSBYMEMBER nokey nobody x parsec
        GEORADIUSBYMEMBER nokey nobody x parsec STORE dst
        GEORADIUSBYMEMBER nokey nobody x parsec bogus
        GEOSEARCH Sicily FROMLONLAT 15 37
        GEOSEARCH Sicily
        GEORADIUS Sicily 15 37 200
        GEORADIUSBYMEMBER Sicily Palermo 200
        SET str v
        GEOSEARCH str FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCH str bogus bogus bogus bogus bogus
        GEOSEARCHSTORE dst str FROMLONLAT 15 37 BYRADIUS 200 km
        GEORADIUS str 200 100 -1 parsec
        GEORADIUSBYMEMBER str nobody 200 km
        GEORADIUS_RO str 15 37 200 km
        GEORADIUSBYMEMBER_RO str a 200 km
        "#
    ));
}

#[test]
fn search_replies_and_options() {
    differential(&format!(
        r#"
        {SICILY}
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km DESC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST WITHCOORD WITHHASH
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km withhash withcoord withdist asc
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHCOORD
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHHASH DESC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 2
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 2 DESC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 ANY
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 2 ANY ASC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 100
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 100 ANY
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 COUNT 3
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC DESC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ANY COUNT 2
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km FROMLONLAT 14 37
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km BYRADIUS 100 km
        GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 100 km WITHDIST
        GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 400 400 km WITHDIST ASC
        GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 400 100 km WITHDIST ASC
        GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 100 400 km WITHDIST ASC
        GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 400 400 mi WITHDIST ASC
        GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 4000000 400000 ft WITHDIST ASC
        GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 0 m WITHDIST
        GEOSEARCH Sicily FROMLONLAT 13.361389 38.115556 BYRADIUS 0 m WITHDIST
        GEOSEARCH Sicily FROMLONLAT 13.361389 38.115556 BYRADIUS 1 m WITHDIST
        GEOSEARCH Sicily FROMLONLAT 0 0 BYRADIUS 1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 20000 km WITHDIST
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS inf km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX inf inf km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1e-300 km
        GEOSEARCH nokey FROMLONLAT 15 37 BYRADIUS 200 km
        GEORADIUS Sicily 15 37 200 km
        GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH ASC
        GEORADIUS Sicily 15 37 200 km COUNT 3 DESC WITHDIST
        GEORADIUS Sicily 15 37 200 km COUNT 1 ANY
        GEORADIUS_RO Sicily 15 37 200 km WITHDIST
        GEORADIUS_RO Sicily 15 37 200 mi COUNT 2
        GEORADIUSBYMEMBER Sicily Palermo 200 km
        GEORADIUSBYMEMBER Sicily Palermo 200 km WITHDIST ASC
        GEORADIUSBYMEMBER_RO Sicily Palermo 200 km WITHCOORD DESC
        GEORADIUSBYMEMBER nokey nobody 200 km
        GEORADIUS Sicily -179.9 0 300 km
        @any HELLO 3
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST WITHCOORD WITHHASH ASC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km
        GEORADIUS Sicily 15 37 200 km WITHCOORD
        GEOSEARCH nokey FROMLONLAT 15 37 BYRADIUS 200 km
        "#
    ));
}

#[test]
fn stored_results() {
    differential(&format!(
        r#"
        {SICILY}
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km
        ZRANGE dst 0 -1 WITHSCORES
        OBJECT ENCODING dst
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST COUNT 2 DESC
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst Sicily FROMMEMBER Palermo BYBOX 300 300 mi STOREDIST ASC COUNT 3
        ZRANGE dst 0 -1 WITHSCORES
        EXPIRE dst 100
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 1 km
        EXISTS dst
        SET dst v
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 1000 km COUNT 1 ANY
        TYPE dst
        TTL dst
        GEOSEARCHSTORE dst nokey FROMLONLAT 15 37 BYRADIUS 1000 km
        EXISTS dst
        GEOSEARCHSTORE Sicily Sicily FROMLONLAT 15 37 BYRADIUS 100 km
        ZRANGE Sicily 0 -1 WITHSCORES
        {SICILY}
        GEORADIUS Sicily 15 37 200 km STORE d1
        ZRANGE d1 0 -1 WITHSCORES
        GEORADIUS Sicily 15 37 200 km STOREDIST d2 ASC COUNT 2
        ZRANGE d2 0 -1 WITHSCORES
        GEORADIUS Sicily 15 37 200 km STORE d3 STOREDIST d4
        EXISTS d3 d4
        ZRANGE d4 0 -1 WITHSCORES
        GEORADIUSBYMEMBER Sicily Palermo 200 km STORE d5 DESC
        ZRANGE d5 0 -1 WITHSCORES
        GEORADIUSBYMEMBER Sicily Palermo 200 ft STOREDIST d6
        ZRANGE d6 0 -1 WITHSCORES
        GEORADIUS Sicily 15 37 1 km STORE d1
        EXISTS d1
        GEORADIUS nokey 15 37 1 km STORE d2
        EXISTS d2
        GEORADIUSBYMEMBER nokey x 1 km STOREDIST d5
        EXISTS d5
        GEORADIUS Sicily 15 37 200 km STORE str
        SET str v
        GEORADIUS Sicily 15 37 200 km STORE str
        TYPE str
        "#
    ));
}

#[test]
fn inside_transactions_and_scripts() {
    differential(&format!(
        r#"
        {SICILY}
        MULTI
        GEOADD t 1 2 a
        GEOSEARCH t FROMLONLAT 1 2 BYRADIUS 1 km WITHDIST
        GEOADD t 200 2 bad
        GEODIST t a a
        EXEC
        EVAL "return redis.call('GEOPOS', KEYS[1], 'Palermo')" 1 Sicily
        EVAL "return redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', 15, 37, 'BYRADIUS', 200, 'km', 'ASC')" 1 Sicily
        EVAL "return redis.call('GEODIST', KEYS[1], 'Palermo', 'Catania')" 1 Sicily
        SET Sicily2 1
        EVAL "return redis.call('GEOADD', KEYS[1], '13.361389', '38.115556', 'Palermo')" 1 Sicily2
        "#
    ));
}

/// A random point in the range the suite's fuzz tests use (latitudes -70..70, where the
/// search is exact), sometimes near the poles or the antimeridian.
fn random_point(rng: &mut SmallRng) -> (f64, f64) {
    match rng.gen_range(0..10) {
        0 => (rng.gen_range(-180.0..180.0), rng.gen_range(-85.05..85.05)),
        1 => (rng.gen_range(178.0..180.0), rng.gen_range(-70.0..70.0)),
        _ => (rng.gen_range(-180.0..180.0), rng.gen_range(-70.0..70.0)),
    }
}

fn coordinate(value: f64) -> String {
    format!("{value:.9}")
}

/// Loads the same random points into both servers, then compares many random searches of
/// every form with all their extras, in Redis's exact order (sorted or not).
#[test]
fn random_points_search_like_redis() {
    let mut diff = Differential::new();
    let mut rng = SmallRng::seed_from_u64(0x6e0_5ea4c4);
    for batch in 0..10 {
        let mut args: Vec<String> = vec!["GEOADD".into(), "points".into()];
        for i in 0..500 {
            let (lon, lat) = random_point(&mut rng);
            args.push(coordinate(lon));
            args.push(coordinate(lat));
            args.push(format!("p:{batch}:{i}"));
        }
        diff.check(Compare::Exact, &args);
    }
    // A dense cluster, so small searches find many points.
    let mut args: Vec<String> = vec!["GEOADD".into(), "points".into()];
    for i in 0..500 {
        args.push(coordinate(2.35 + rng.gen_range(-0.05..0.05)));
        args.push(coordinate(48.85 + rng.gen_range(-0.05..0.05)));
        args.push(format!("paris:{i}"));
    }
    diff.check(Compare::Exact, &args);
    let units = ["m", "km", "mi", "ft"];
    for round in 0..300 {
        let (lon, lat) = if round % 3 == 0 {
            (
                2.35 + rng.gen_range(-0.1..0.1),
                48.85 + rng.gen_range(-0.1..0.1),
            )
        } else {
            random_point(&mut rng)
        };
        let unit = units[rng.gen_range(0..units.len())];
        let meters: f64 = match rng.gen_range(0..10) {
            0 => rng.gen_range(1_000_000.0..6_000_000.0),
            1..=3 => rng.gen_range(10.0..10_000.0),
            _ => rng.gen_range(10_000.0..300_000.0),
        };
        let per_unit = match unit {
            "km" => 1000.0,
            "mi" => 1609.34,
            "ft" => 0.3048,
            _ => 1.0,
        };
        let extent = format!("{:.3}", meters / per_unit);
        let height = format!("{:.3}", meters * rng.gen_range(0.3..2.0) / per_unit);
        let mut args: Vec<String> = vec!["GEOSEARCH".into(), "points".into()];
        if rng.gen_bool(0.3) {
            args.extend([
                "FROMMEMBER".into(),
                format!("p:{}:{}", rng.gen_range(0..10), rng.gen_range(0..500)),
            ]);
        } else {
            args.extend(["FROMLONLAT".into(), coordinate(lon), coordinate(lat)]);
        }
        if rng.gen_bool(0.5) {
            args.extend(["BYRADIUS".into(), extent.clone(), unit.into()]);
        } else {
            args.extend(["BYBOX".into(), extent.clone(), height, unit.into()]);
        }
        match rng.gen_range(0..4) {
            0 => args.push("ASC".into()),
            1 => args.push("DESC".into()),
            _ => {}
        }
        match rng.gen_range(0..4) {
            0 => args.extend(["COUNT".into(), rng.gen_range(1..20).to_string()]),
            1 => args.extend([
                "COUNT".into(),
                rng.gen_range(1..20).to_string(),
                "ANY".into(),
            ]),
            _ => {}
        }
        args.extend(["WITHDIST".into(), "WITHHASH".into(), "WITHCOORD".into()]);
        diff.check(Compare::Exact, &args);
        // The same search through the legacy command, when it can say it.
        if args[2] == "FROMLONLAT" && args[5] == "BYRADIUS" {
            let mut legacy: Vec<String> = vec!["GEORADIUS".into(), "points".into()];
            legacy.extend(args[3..5].iter().cloned());
            legacy.extend(args[6..].iter().cloned());
            diff.check(Compare::Exact, &legacy);
        }
        let mut store = vec!["GEOSEARCHSTORE".to_string(), "dst".into()];
        store.extend(args[1..args.len() - 3].iter().cloned());
        if rng.gen_bool(0.5) {
            store.push("STOREDIST".into());
        }
        diff.check(Compare::Exact, &store);
        diff.check(Compare::Exact, &["ZRANGE", "dst", "0", "-1", "WITHSCORES"]);
    }
    for _ in 0..100 {
        let (lon, lat) = random_point(&mut rng);
        let radius = format!("{:.2}", rng.gen_range(1.0..800.0));
        diff.check(
            Compare::Exact,
            &[
                "GEORADIUS",
                "points",
                &coordinate(lon),
                &coordinate(lat),
                &radius,
                "km",
                "WITHDIST",
                "WITHCOORD",
            ],
        );
        let member = format!("p:{}:{}", rng.gen_range(0..10), rng.gen_range(0..500));
        diff.check(
            Compare::Exact,
            &[
                "GEORADIUSBYMEMBER_RO",
                "points",
                &member,
                &radius,
                "km",
                "WITHHASH",
                "DESC",
            ],
        );
    }
    for _ in 0..50 {
        let mut args: Vec<String> = vec!["GEOPOS".into(), "points".into()];
        let mut hashes: Vec<String> = vec!["GEOHASH".into(), "points".into()];
        for _ in 0..40 {
            let member = format!("p:{}:{}", rng.gen_range(0..10), rng.gen_range(0..500));
            args.push(member.clone());
            hashes.push(member);
        }
        diff.check(Compare::Exact, &args);
        diff.check(Compare::Exact, &hashes);
        let a = format!("p:{}:{}", rng.gen_range(0..10), rng.gen_range(0..500));
        let b = format!("p:{}:{}", rng.gen_range(0..10), rng.gen_range(0..500));
        diff.check(Compare::Exact, &["GEODIST", "points", &a, &b, "km"]);
        diff.check(Compare::Exact, &["GEODIST", "points", &a, &b]);
    }
}
