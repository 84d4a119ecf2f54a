//! LOLWUT [VERSION version] [arguments]: the Redis version line, and for VERSION 5 computer
//! art after Georg Nees's "Schotter" (1968): a column of squares that fall into disorder row
//! by row, drawn with Braille characters (2 x 4 dots each), as Redis 5's LOLWUT draws it.
//! The drawing is ours; what a reply holds (its arguments, limits and caption) is Redis's.

use super::REDIS_VERSION;
use crate::commands::args::{int_arg, is_keyword};
use crate::commands::{Args, CmdResult, Ctx};
use rand::Rng;

pub fn lolwut(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let argv = args.rest();
    let mut version = None;
    let mut rest = argv;
    if argv.len() >= 2 && is_keyword(argv[0], "version") {
        // Redis formats the version as `%u.0.0` and compares its leading digits: the value
        // is cut to 32 bits first.
        version = Some(int_arg(argv[1])? as u32);
        rest = &argv[2..];
    }
    let text = match version {
        Some(5) => {
            let mut numbers = [66i64, 8, 12];
            for (number, arg) in numbers.iter_mut().zip(rest) {
                *number = int_arg(arg)?;
            }
            let [cols, per_row, per_col] = numbers;
            let canvas = schotter(
                cols.clamp(1, 1000) as usize,
                per_row.clamp(1, 200) as usize,
                per_col.clamp(1, 200) as usize,
                &mut ctx.server.rng,
            );
            format!(
                "{}\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. {REDIS_VERSION}\n",
                canvas.render()
            )
        }
        Some(6) => {
            // Redis 6's city skyline is not drawn here (docs/compatibility.md); its
            // arguments (columns, rows) are checked as Redis checks them.
            for arg in rest.iter().take(2) {
                int_arg(arg)?;
            }
            format!("Redis ver. {REDIS_VERSION}\n")
        }
        _ => format!("Redis ver. {REDIS_VERSION}\n"),
    };
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// A black-and-white picture, one bool a dot.
struct Canvas {
    width: usize,
    height: usize,
    dots: Vec<bool>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Canvas {
        Canvas {
            width,
            height,
            dots: vec![false; width * height],
        }
    }

    fn set(&mut self, x: i64, y: i64) {
        if (0..self.width as i64).contains(&x) && (0..self.height as i64).contains(&y) {
            self.dots[y as usize * self.width + x as usize] = true;
        }
    }

    fn get(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.height && self.dots[y * self.width + x]
    }

    /// A straight line, dot by dot (Bresenham's walk).
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64)) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut error) = (x0, y0, dx + dy);
        loop {
            self.set(x, y);
            if x == x1 && y == y1 {
                return;
            }
            let doubled = 2 * error;
            if doubled >= dy {
                error += dy;
                x += sx;
            }
            if doubled <= dx {
                error += dx;
                y += sy;
            }
        }
    }

    /// One line of Braille characters per four rows of dots. A Braille cell's dots are
    /// numbered down the left column (bits 0-2), down the right (bits 3-5), then the bottom
    /// row left and right (bits 6 and 7).
    fn render(&self) -> String {
        const BITS: [[u32; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];
        let mut out = String::new();
        for row in (0..self.height).step_by(4) {
            if row > 0 {
                out.push('\n');
            }
            for col in (0..self.width).step_by(2) {
                let mut bits = 0;
                for (dx, column) in BITS.iter().enumerate() {
                    for (dy, bit) in column.iter().enumerate() {
                        if self.get(col + dx, row + dy) {
                            bits |= bit;
                        }
                    }
                }
                out.push(char::from_u32(0x2800 + bits).unwrap_or(' '));
            }
        }
        out
    }
}

/// `per_row` squares across `cols` characters, `per_col` rows of them: the first rows in
/// order, each row below turned and shifted by random amounts that grow with the row.
fn schotter(cols: usize, per_row: usize, per_col: usize, rng: &mut impl Rng) -> Canvas {
    let width = cols * 2;
    let padding = if width > 4 { 2.0 } else { 0.0 };
    let side = (width as f64 - 2.0 * padding) / per_row as f64;
    let height = (side * per_col as f64 + 2.0 * padding).ceil() as usize;
    let mut canvas = Canvas::new(width, height);
    for row in 0..per_col {
        // How far into disorder this row is: none at the top, most at the bottom.
        let disorder = row as f64 / per_col as f64;
        for col in 0..per_row {
            let mut jitter = || rng.gen_range(-1.0..=1.0) * disorder;
            let angle = jitter() * std::f64::consts::FRAC_PI_4;
            let (dx, dy) = (jitter() * side / 4.0, jitter() * side / 4.0);
            let center_x = padding + (col as f64 + 0.5) * side + dx;
            let center_y = padding + (row as f64 + 0.5) * side + dy;
            let half = side / 2.0;
            let corners: Vec<(i64, i64)> =
                [(-half, -half), (half, -half), (half, half), (-half, half)]
                    .iter()
                    .map(|&(x, y)| {
                        let (sin, cos) = angle.sin_cos();
                        (
                            (center_x + x * cos - y * sin).round() as i64,
                            (center_y + x * sin + y * cos).round() as i64,
                        )
                    })
                    .collect();
            for corner in 0..4 {
                canvas.line(corners[corner], corners[(corner + 1) % 4]);
            }
        }
    }
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_first_row_of_squares_is_in_order() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let canvas = schotter(66, 8, 12, &mut rng);
        let text = canvas.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].chars().count(), 66);
        // 8 squares of 16 dots across 132 - 4 dots: 12 rows of 16 dots, plus padding, in
        // lines of 4 dots.
        assert_eq!(lines.len(), (16 * 12 + 4usize).div_ceil(4));
        // The top edge of the first row is one straight line of dots, 2 dots below the top:
        // the first line's characters carry the third dot row in both columns.
        let top: String = lines[0].chars().skip(2).take(60).collect();
        assert!(
            top.chars().all(|c| (c as u32 - 0x2800) & 0x24 == 0x24),
            "{top}"
        );
    }

    #[test]
    fn lines_reach_both_ends() {
        let mut canvas = Canvas::new(10, 8);
        canvas.line((0, 0), (9, 7));
        assert!(canvas.get(0, 0) && canvas.get(9, 7));
        assert_eq!(canvas.dots.iter().filter(|&&dot| dot).count(), 10);
    }
}
