//! Geohash arithmetic as Redis's geo commands use it: a point is stored as the score of a
//! sorted-set member, its latitude and longitude cells at 26 bits each interleaved into a
//! 52-bit integer (latitude in the even bits, longitude in the odd ones), over the Web
//! Mercator range (longitude -180..180, latitude -85.05112878..85.05112878).
//!
//! Every step below follows Redis's own order of floating-point operations, so scores,
//! decoded coordinates, distances (haversine on Redis's Earth radius) and the boxes a search
//! visits come out bit for bit as Redis's. Pure functions: no keyspace, no I/O.

/// Bits per coordinate in a stored score (26 * 2 = 52, exact in an `f64`).
pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LON_MIN: f64 = -180.0;
pub const LON_MAX: f64 = 180.0;
/// Redis's Earth radius (a quadratic mean radius of the WGS-84 ellipsoid), in meters.
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
/// Half the Web Mercator world's width in meters: the largest search radius that still
/// needs a finer step than 1.
const MERCATOR_MAX: f64 = 20037726.37;
/// Degrees to radians, as a constant folded the way C folds `M_PI / 180.0`.
const DEG_TO_RAD: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(degrees: f64) -> f64 {
    degrees * DEG_TO_RAD
}

fn rad_deg(radians: f64) -> f64 {
    radians / DEG_TO_RAD
}

/// A closed interval of one coordinate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub min: f64,
    pub max: f64,
}

/// The coordinate ranges scores are encoded over.
const LON_RANGE: Interval = Interval {
    min: LON_MIN,
    max: LON_MAX,
};
const LAT_RANGE: Interval = Interval {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// A geohash cell: `step` bits per coordinate, interleaved in the low `2 * step` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub bits: u64,
    pub step: u8,
}

/// The rectangle a cell covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub lon: Interval,
    pub lat: Interval,
}

/// Spreads the 32 bits of `v` to the even bit positions of a `u64`.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bits of `x` into a `u32` (the inverse of [`spread`]).
fn squash(x: u64) -> u32 {
    let mut x = x & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF;
    x as u32
}

/// Latitude cell in the even bits, longitude cell in the odd bits.
fn interleave(lat: u32, lon: u32) -> u64 {
    spread(lat) | (spread(lon) << 1)
}

/// Whether a point may be encoded at all (Redis refuses the poles beyond Web Mercator).
pub fn is_valid_lon_lat(lon: f64, lat: f64) -> bool {
    (LON_MIN..=LON_MAX).contains(&lon) && (LAT_MIN..=LAT_MAX).contains(&lat)
}

/// The cell of `step` bits per coordinate holding (`lon`, `lat`) over the given ranges;
/// `None` for a point outside them or the Web Mercator range. O(1).
pub fn encode(
    lon_range: Interval,
    lat_range: Interval,
    lon: f64,
    lat: f64,
    step: u8,
) -> Option<Cell> {
    if step == 0 || step > 32 || !is_valid_lon_lat(lon, lat) {
        return None;
    }
    if lat < lat_range.min || lat > lat_range.max || lon < lon_range.min || lon > lon_range.max {
        return None;
    }
    let lat_offset = (lat - lat_range.min) / (lat_range.max - lat_range.min);
    let lon_offset = (lon - lon_range.min) / (lon_range.max - lon_range.min);
    let scale = (1u64 << step) as f64;
    // Truncated to 32 bits as Redis's conversion does: an offset of exactly 1 (longitude 180)
    // sets the bit just above the cell, as it does in Redis.
    let lat_cell = (lat_offset * scale) as u32;
    let lon_cell = (lon_offset * scale) as u32;
    Some(Cell {
        bits: interleave(lat_cell, lon_cell),
        step,
    })
}

/// The rectangle `cell` covers over the given ranges. O(1).
pub fn decode(lon_range: Interval, lat_range: Interval, cell: Cell) -> Area {
    let lat_cell = squash(cell.bits);
    let lon_cell = squash(cell.bits >> 1);
    let scale = (1u64 << cell.step) as f64;
    let lat_span = lat_range.max - lat_range.min;
    let lon_span = lon_range.max - lon_range.min;
    Area {
        lat: Interval {
            min: lat_range.min + (f64::from(lat_cell) / scale) * lat_span,
            max: lat_range.min + (f64::from(lat_cell.wrapping_add(1)) / scale) * lat_span,
        },
        lon: Interval {
            min: lon_range.min + (f64::from(lon_cell) / scale) * lon_span,
            max: lon_range.min + (f64::from(lon_cell.wrapping_add(1)) / scale) * lon_span,
        },
    }
}

/// The score GEOADD stores for a point, or `None` outside the valid range. O(1).
pub fn score_of(lon: f64, lat: f64) -> Option<f64> {
    let cell = encode(LON_RANGE, LAT_RANGE, lon, lat, STEP_MAX)?;
    // At most 54 bits (see `encode`): rounded to the nearest double, as Redis's round trip
    // through the decimal text of the integer does.
    Some(cell.bits as f64)
}

/// A score as the 64-bit integer C's `(uint64_t)` conversion gives on x86-64, so even a
/// score no GEOADD wrote (negative, fractional, huge) decodes as it does in Redis.
fn score_bits(score: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if score < TWO_63 {
        // Below -2^63 (and for NaN) the hardware gives the "indefinite" 2^63, as the
        // saturating `as` does for the negative side; NaN is not a score.
        score as i64 as u64
    } else {
        let high = score - TWO_63;
        if high < TWO_63 {
            (high as i64 as u64) ^ (1 << 63)
        } else {
            0
        }
    }
}

/// The point a score stands for: the centre of its 52-bit cell, clamped to the valid range.
/// O(1).
pub fn decode_score(score: f64) -> (f64, f64) {
    let cell = Cell {
        bits: score_bits(score),
        step: STEP_MAX,
    };
    let area = decode(LON_RANGE, LAT_RANGE, cell);
    let lon = ((area.lon.min + area.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((area.lat.min + area.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// The 11-character base-32 geohash GEOHASH replies for a score: the decoded point
/// re-encoded over the standard latitude range -90..90 (so other geohash tools read it).
pub fn geohash_text(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = decode_score(score);
    let standard_lat = Interval {
        min: -90.0,
        max: 90.0,
    };
    // The decoded point is inside every range, so the encoding cannot fail.
    let bits = encode(LON_RANGE, standard_lat, lon, lat, STEP_MAX).map_or(0, |c| c.bits);
    let mut text = [b'0'; 11];
    // 52 bits give ten characters; the eleventh is the padding '0'.
    for (i, out) in text.iter_mut().enumerate().take(10) {
        *out = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    text
}

/// The lowest score inside `cell` and the lowest one past it (the cell's score range is
/// `min <= score < max`).
pub fn score_range(cell: Cell) -> (f64, f64) {
    let shift = 52 - u32::from(cell.step) * 2;
    let min = cell.bits << shift;
    let max = (cell.bits + 1) << shift;
    (min as f64, max as f64)
}

/// Distance in meters along the meridian between two latitudes.
pub fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Great-circle distance in meters (haversine), as Redis computes it. O(1).
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// The area a search covers around its centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ShapeKind {
    /// Points within this distance of the centre.
    Radius(f64),
    /// Points in an axis-aligned box this wide (east-west) and high (north-south).
    Box { width: f64, height: f64 },
}

/// A search area: its centre, extent (in `unit`s) and the unit's size in meters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub lon: f64,
    pub lat: f64,
    pub kind: ShapeKind,
    /// Meters per unit of the extent (1 for `m`, 1000 for `km`...).
    pub unit: f64,
}

impl Shape {
    /// The distance in meters from the centre to (`lon`, `lat`) when the point is inside
    /// the shape. O(1).
    pub fn distance_if_inside(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.kind {
            ShapeKind::Radius(radius) => {
                let d = distance(self.lon, self.lat, lon, lat);
                // NaN (antipodal rounding) counts as inside, as Redis's `d > r` test leaves it.
                let outside =
                    d.partial_cmp(&(radius * self.unit)) == Some(std::cmp::Ordering::Greater);
                (!outside).then_some(d)
            }
            ShapeKind::Box { width, height } => {
                if lat_distance(lat, self.lat) > height * self.unit / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.lon, lat) > width * self.unit / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }

    /// The bounding box (min lon, min lat, max lon, max lat) in degrees. O(1).
    fn bounds(&self) -> [f64; 4] {
        let (height, width) = match self.kind {
            ShapeKind::Radius(radius) => (radius * self.unit, radius * self.unit),
            ShapeKind::Box { width, height } => {
                (self.unit * (height / 2.0), self.unit * (width / 2.0))
            }
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let lon_delta_top =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(self.lat + lat_delta).cos());
        let lon_delta_bottom =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(self.lat - lat_delta).cos());
        // The box is widest on the side nearer the equator.
        let lon_delta = if self.lat < 0.0 {
            lon_delta_bottom
        } else {
            lon_delta_top
        };
        [
            self.lon - lon_delta,
            self.lat - lat_delta,
            self.lon + lon_delta,
            self.lat + lat_delta,
        ]
    }

    /// The distance from the centre that covers the whole shape, in meters.
    fn reach(&self) -> f64 {
        let reach = match self.kind {
            ShapeKind::Radius(radius) => radius,
            ShapeKind::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        };
        reach * self.unit
    }

    /// The cells whose score ranges a search scans, in Redis's order: the centre's cell,
    /// then north, south, east, west, north-east, north-west, south-east, south-west; a
    /// neighbour the shape cannot reach is `None`. The step is the coarsest that keeps the
    /// shape within the nine cells. O(1).
    pub fn covering_cells(&self) -> [Option<Cell>; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let mut step = estimate_step(self.reach(), self.lat);
        let Some(mut center) = encode(LON_RANGE, LAT_RANGE, self.lon, self.lat, step) else {
            return [None; 9];
        };
        let mut around = Neighbours::of(center);
        let too_coarse = decode(LON_RANGE, LAT_RANGE, around.north).lat.max < max_lat
            || decode(LON_RANGE, LAT_RANGE, around.south).lat.min > min_lat
            || decode(LON_RANGE, LAT_RANGE, around.east).lon.max < max_lon
            || decode(LON_RANGE, LAT_RANGE, around.west).lon.min > min_lon;
        if step > 1 && too_coarse {
            step -= 1;
            let Some(finer) = encode(LON_RANGE, LAT_RANGE, self.lon, self.lat, step) else {
                return [None; 9];
            };
            center = finer;
            around = Neighbours::of(center);
        }
        let area = decode(LON_RANGE, LAT_RANGE, center);
        let mut cells = [
            Some(center),
            Some(around.north),
            Some(around.south),
            Some(around.east),
            Some(around.west),
            Some(around.north_east),
            Some(around.north_west),
            Some(around.south_east),
            Some(around.south_west),
        ];
        const NORTH: usize = 1;
        const SOUTH: usize = 2;
        const EAST: usize = 3;
        const WEST: usize = 4;
        const NORTH_EAST: usize = 5;
        const NORTH_WEST: usize = 6;
        const SOUTH_EAST: usize = 7;
        const SOUTH_WEST: usize = 8;
        if step >= 2 {
            if area.lat.min < min_lat {
                for side in [SOUTH, SOUTH_WEST, SOUTH_EAST] {
                    cells[side] = None;
                }
            }
            if area.lat.max > max_lat {
                for side in [NORTH, NORTH_EAST, NORTH_WEST] {
                    cells[side] = None;
                }
            }
            if area.lon.min < min_lon {
                for side in [WEST, SOUTH_WEST, NORTH_WEST] {
                    cells[side] = None;
                }
            }
            if area.lon.max > max_lon {
                for side in [EAST, SOUTH_EAST, NORTH_EAST] {
                    cells[side] = None;
                }
            }
        }
        cells
    }
}

/// The step (bits per coordinate) whose cells are about as large as a search reaching
/// `meters` from a centre at latitude `lat`: coarser towards the poles, 1 to 26.
fn estimate_step(mut meters: f64, lat: f64) -> u8 {
    if meters == 0.0 {
        return STEP_MAX;
    }
    let mut step: i32 = 1;
    while meters < MERCATOR_MAX {
        meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, i32::from(STEP_MAX)) as u8
}

/// The eight cells around one, at the same step (wrapping around the map's edges).
#[derive(Debug, Clone, Copy)]
struct Neighbours {
    north: Cell,
    south: Cell,
    east: Cell,
    west: Cell,
    north_east: Cell,
    north_west: Cell,
    south_east: Cell,
    south_west: Cell,
}

impl Neighbours {
    fn of(cell: Cell) -> Self {
        let at = |east: i8, north: i8| shift_lat(shift_lon(cell, east), north);
        Neighbours {
            north: at(0, 1),
            south: at(0, -1),
            east: at(1, 0),
            west: at(-1, 0),
            north_east: at(1, 1),
            north_west: at(-1, 1),
            south_east: at(1, -1),
            south_west: at(-1, -1),
        }
    }
}

/// Moves `cell` one cell along the interleaved coordinate in the `mask` bits (odd bits:
/// longitude, even bits: latitude), by `delta` (-1, 0 or 1), wrapping at the edge: the
/// other coordinate's bits are filled with ones so the carry or borrow crosses them.
fn shift(cell: Cell, delta: i8, mask: u64) -> Cell {
    if delta == 0 {
        return cell;
    }
    let width = 64 - u32::from(cell.step) * 2;
    let moved = cell.bits & mask;
    let kept = cell.bits & !mask;
    let filler = !mask >> width;
    let moved = if delta > 0 {
        moved.wrapping_add(filler + 1)
    } else {
        (moved | filler).wrapping_sub(filler + 1)
    };
    Cell {
        bits: (moved & (mask >> width)) | kept,
        step: cell.step,
    }
}

fn shift_lon(cell: Cell, delta: i8) -> Cell {
    shift(cell, delta, 0xAAAA_AAAA_AAAA_AAAA)
}

fn shift_lat(cell: Cell, delta: i8) -> Cell {
    shift(cell, delta, 0x5555_5555_5555_5555)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_redis() {
        // Scores redis-server 7.0 stores for these GEOADDs.
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698.0));
        assert_eq!(score_of(15.087269, 37.502669), Some(3479447370796909.0));
        assert_eq!(score_of(-73.9454966, 40.747533), Some(1791875804419201.0));
        assert_eq!(score_of(181.0, 0.0), None);
        assert_eq!(score_of(0.0, 85.06), None);
    }

    #[test]
    fn decoding_gives_the_cell_centre() {
        let (lon, lat) = decode_score(3479099956230698.0);
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
    }

    #[test]
    fn geohash_text_matches_redis() {
        assert_eq!(&geohash_text(3479099956230698.0), b"sqc8b49rny0");
        assert_eq!(&geohash_text(3479447370796909.0), b"sqdtr74hyu0");
    }

    #[test]
    fn distances_match_redis() {
        let (lon1, lat1) = decode_score(3479099956230698.0);
        let (lon2, lat2) = decode_score(3479447370796909.0);
        assert_eq!(
            format!("{:.4}", distance(lon1, lat1, lon2, lat2)),
            "166274.1516"
        );
        assert_eq!(distance(1.0, 2.0, 1.0, 3.0), lat_distance(2.0, 3.0));
    }

    #[test]
    fn interleaving_round_trips() {
        for (lat, lon) in [
            (0u32, 0u32),
            (1, 2),
            (0x3FF_FFFF, 0x155_5555),
            (u32::MAX, 7),
        ] {
            let bits = interleave(lat, lon);
            assert_eq!((squash(bits), squash(bits >> 1)), (lat, lon));
        }
    }

    #[test]
    fn neighbours_wrap_and_move_one_cell() {
        let cell = encode(LON_RANGE, LAT_RANGE, 0.1, 0.1, 4).unwrap();
        let n = Neighbours::of(cell);
        let here = decode(LON_RANGE, LAT_RANGE, cell);
        let north = decode(LON_RANGE, LAT_RANGE, n.north);
        let east = decode(LON_RANGE, LAT_RANGE, n.east);
        assert_eq!(north.lat.min, here.lat.max);
        assert_eq!(north.lon, here.lon);
        assert_eq!(east.lon.min, here.lon.max);
        assert_eq!(east.lat, here.lat);
        let edge = encode(LON_RANGE, LAT_RANGE, 179.9, 0.0, 3).unwrap();
        let wrapped = decode(LON_RANGE, LAT_RANGE, Neighbours::of(edge).east);
        assert_eq!(wrapped.lon.min, -180.0);
    }

    #[test]
    fn steps_shrink_with_the_radius_and_near_the_poles() {
        assert_eq!(estimate_step(0.0, 0.0), 26);
        assert_eq!(estimate_step(1.0, 0.0), 24);
        assert_eq!(estimate_step(100_000.0, 0.0), 7);
        assert_eq!(estimate_step(100_000.0, 70.0), 6);
        assert_eq!(estimate_step(100_000.0, -81.0), 5);
        assert_eq!(estimate_step(f64::INFINITY, 0.0), 1);
    }

    #[test]
    fn odd_scores_decode_without_panicking() {
        for score in [-1.0, -1e300, 1e300, f64::INFINITY, 0.5, 2f64.powi(60)] {
            let (lon, lat) = decode_score(score);
            assert!(is_valid_lon_lat(lon, lat));
        }
    }
}
