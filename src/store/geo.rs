//! Geo searches over a sorted set whose scores are geohashes ([`super::geohash`]): the
//! GEOSEARCH / GEORADIUS family's work, and storing its result.
//!
//! A search scans only the score ranges of the (at most nine) cells covering the shape, as
//! Redis does, so its cost follows the points near the centre, not the set's size. Points
//! come in Redis's order: cell by cell (centre, north, south, east, west, north-east,
//! north-west, south-east, south-west), by score within a cell; sorting by distance is
//! stable, so equal distances keep that order.

use super::geohash::{self, Shape};
use super::keyspace::DbMut;
use super::sorted_set::{ScoreBound, SortedSet};
use super::StoreResult;

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoOrder {
    /// In the order the cells were scanned.
    Unsorted,
    /// Nearest first.
    Asc,
    /// Farthest first.
    Desc,
}

/// What to search for and how many results to keep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoQuery {
    pub shape: Shape,
    pub order: GeoOrder,
    /// At most this many results; 0 for all.
    pub count: usize,
    /// Stop scanning once `count` points are found, instead of keeping the nearest ones.
    pub any: bool,
}

/// One point found by a search.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoMatch {
    pub member: Box<[u8]>,
    /// The member's score (its geohash).
    pub score: f64,
    /// Distance from the search's centre, in the shape's unit.
    pub distance: f64,
    pub lon: f64,
    pub lat: f64,
}

/// The members of `set` inside `query`'s shape, ordered and limited as it asks (COUNT
/// without ANY or an order means nearest first, as in Redis). O(c log n + k log k) for c
/// points in the covering cells and k found.
pub fn search(set: &SortedSet, query: &GeoQuery) -> Vec<GeoMatch> {
    let limit = if query.any { query.count } else { 0 };
    let mut found: Vec<GeoMatch> = Vec::new();
    let cells = query.shape.covering_cells();
    let mut last_scanned: Option<usize> = None;
    for (index, cell) in cells.iter().enumerate() {
        let Some(cell) = *cell else {
            continue;
        };
        // Large shapes can make adjacent neighbours the same cell: scanning it twice would
        // list its points twice. Redis compares with the last scanned cell only when that
        // was not the centre, and so does this.
        if let Some(last) = last_scanned.filter(|&last| last > 0) {
            if cells[last] == Some(cell) {
                continue;
            }
        }
        if limit > 0 && found.len() >= limit {
            break;
        }
        scan_cell(set, cell, &query.shape, limit, &mut found);
        last_scanned = Some(index);
    }
    let order = match query.order {
        GeoOrder::Unsorted if query.count > 0 && !query.any => GeoOrder::Asc,
        order => order,
    };
    match order {
        GeoOrder::Unsorted => {}
        GeoOrder::Asc => found.sort_by(|a, b| a.distance.total_cmp(&b.distance)),
        GeoOrder::Desc => found.sort_by(|a, b| b.distance.total_cmp(&a.distance)),
    }
    if query.count > 0 {
        found.truncate(query.count);
    }
    for point in &mut found {
        point.distance /= query.shape.unit;
    }
    found
}

/// Appends the points of `cell`'s score range inside `shape` (distances in meters), stopping
/// once `found` holds `limit` points (0: no limit).
fn scan_cell(
    set: &SortedSet,
    cell: geohash::Cell,
    shape: &Shape,
    limit: usize,
    found: &mut Vec<GeoMatch>,
) {
    let (min, max) = geohash::score_range(cell);
    let min = ScoreBound {
        value: min,
        exclusive: false,
    };
    let max = ScoreBound {
        value: max,
        exclusive: true,
    };
    for (member, score) in set.range_by_score(&min, &max, false, 0, None) {
        let (lon, lat) = geohash::decode_score(score);
        if let Some(distance) = shape.distance_if_inside(lon, lat) {
            found.push(GeoMatch {
                member: member.into(),
                score,
                distance,
                lon,
                lat,
            });
        }
        if limit > 0 && found.len() >= limit {
            break;
        }
    }
}

impl DbMut<'_> {
    /// GEOSEARCHSTORE / GEORADIUS STORE: stores `entries` (member, score) at `dst` as a new
    /// sorted set replacing any value, or deletes `dst` when there are none; returns the
    /// stored length. O(k log k).
    pub fn geo_store(&mut self, dst: &[u8], entries: &[(Box<[u8]>, f64)]) -> StoreResult<usize> {
        self.store_zset(dst, entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::geohash::ShapeKind;

    fn set_of(points: &[(&str, f64, f64)]) -> SortedSet {
        let entries: Vec<(&[u8], f64)> = points
            .iter()
            .map(|(m, lon, lat)| (m.as_bytes(), geohash::score_of(*lon, *lat).unwrap()))
            .collect();
        SortedSet::from_entries(entries).unwrap()
    }

    fn names(found: &[GeoMatch]) -> Vec<&str> {
        found
            .iter()
            .map(|m| std::str::from_utf8(&m.member).unwrap())
            .collect()
    }

    fn query(
        lon: f64,
        lat: f64,
        kind: ShapeKind,
        order: GeoOrder,
        count: usize,
        any: bool,
    ) -> GeoQuery {
        GeoQuery {
            shape: Shape {
                lon,
                lat,
                kind,
                unit: 1000.0,
            },
            order,
            count,
            any,
        }
    }

    #[test]
    fn radius_search_finds_only_points_inside() {
        let set = set_of(&[
            ("Palermo", 13.361389, 38.115556),
            ("Catania", 15.087269, 37.502669),
            ("Far", -70.0, -40.0),
        ]);
        let q = query(
            15.0,
            37.0,
            ShapeKind::Radius(200.0),
            GeoOrder::Asc,
            0,
            false,
        );
        let found = search(&set, &q);
        assert_eq!(names(&found), ["Catania", "Palermo"]);
        assert_eq!(format!("{:.4}", found[0].distance), "56.4413");
        let q = query(
            15.0,
            37.0,
            ShapeKind::Radius(100.0),
            GeoOrder::Desc,
            0,
            false,
        );
        assert_eq!(names(&search(&set, &q)), ["Catania"]);
    }

    #[test]
    fn count_without_order_keeps_the_nearest() {
        let set = set_of(&[
            ("a", 0.0, 0.0),
            ("b", 0.01, 0.0),
            ("c", 0.02, 0.0),
            ("d", 0.03, 0.0),
        ]);
        let q = query(
            0.026,
            0.0,
            ShapeKind::Radius(100.0),
            GeoOrder::Unsorted,
            2,
            false,
        );
        let result = search(&set, &q);
        let mut found = names(&result);
        found.sort();
        assert_eq!(found, ["c", "d"]);
        let q = query(
            0.026,
            0.0,
            ShapeKind::Radius(100.0),
            GeoOrder::Desc,
            3,
            false,
        );
        assert_eq!(names(&search(&set, &q)), ["a", "b", "c"]);
        let q = query(
            0.026,
            0.0,
            ShapeKind::Radius(100.0),
            GeoOrder::Unsorted,
            1,
            true,
        );
        assert_eq!(search(&set, &q).len(), 1);
    }

    #[test]
    fn box_search_tests_both_sides() {
        let set = set_of(&[("east", 1.0, 0.0), ("north", 0.0, 1.0)]);
        let wide = ShapeKind::Box {
            width: 250.0,
            height: 100.0,
        };
        let q = query(0.0, 0.0, wide, GeoOrder::Asc, 0, false);
        assert_eq!(names(&search(&set, &q)), ["east"]);
        let tall = ShapeKind::Box {
            width: 100.0,
            height: 250.0,
        };
        let q = query(0.0, 0.0, tall, GeoOrder::Asc, 0, false);
        assert_eq!(names(&search(&set, &q)), ["north"]);
    }
}
