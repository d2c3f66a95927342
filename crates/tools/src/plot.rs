//! Pictures of races with `plotters`: the two-panel race chart of `demo race --plot`, and
//! the legend every stockwatch chart draws beside its data, never on top of it.

use crate::ToolError;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use stockwatch_demo::race::Timeline;

/// Width of the legend column to the right of a chart.
pub const LEGEND_WIDTH: u32 = 230;

/// One legend entry: a name and the stroke its series is drawn with.
#[derive(Debug, Clone)]
pub struct Key {
    /// What the series is.
    pub name: String,
    /// Its colour.
    pub color: RGBAColor,
    /// Dashed (a secondary measure of the same subject).
    pub dashed: bool,
}

/// A strategy's colour, the same in every picture: red for the one that oversells.
pub fn color_of(strategy: &str, fallback: usize) -> RGBAColor {
    match strategy {
        "broken" => RGBColor(198, 40, 40).to_rgba(),
        "watch" => RGBColor(47, 91, 211).to_rgba(),
        "lua" => RGBColor(19, 121, 91).to_rgba(),
        _ => Palette99::pick(fallback).to_rgba(),
    }
}

/// Draws `keys` top-down in `area`, which sits beside the chart.
pub fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, keys: &[Key]) -> Result<(), ToolError> {
    let err = |e: &dyn std::fmt::Display| format!("legend: {e}");
    for (i, key) in keys.iter().enumerate() {
        let y = 48 + 24 * i32::try_from(i).unwrap_or(i32::MAX / 48);
        let stroke = key.color.stroke_width(3);
        if key.dashed {
            for x in [8, 20] {
                area.draw(&PathElement::new(vec![(x, y), (x + 8, y)], stroke))
                    .map_err(|e| err(&e))?;
            }
        } else {
            area.draw(&PathElement::new(vec![(8, y), (36, y)], stroke))
                .map_err(|e| err(&e))?;
        }
        area.draw(&Text::new(key.name.clone(), (44, y - 8), ("sans-serif", 15)))
            .map_err(|e| err(&e))?;
    }
    Ok(())
}

/// The race as a picture: stock over time per strategy (top), and attempts and conflicts
/// so far (bottom; running totals, so textbook WATCH's slow climb is not flattened by the
/// spikes of the one-attempt strategies), written as SVG to `path`.
pub fn race_svg(path: &Path, title: &str, races: &[(&str, &Timeline)]) -> Result<(), ToolError> {
    let err = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    let root = SVGBackend::new(path, (1100, 760)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(|e| err(&e))?;
    let (charts, legend) = root.split_horizontally(1100 - LEGEND_WIDTH);
    let (stock_area, effort_area) = charts.split_vertically(380);
    let (stock_legend, effort_legend) = legend.split_vertically(380);
    let ms = |t_us: u64| t_us as f64 / 1000.0;
    let x_max = races
        .iter()
        .flat_map(|(_, t)| t.buckets.last())
        .map(|b| ms(b.t_us))
        .fold(1.0, f64::max);

    // Stock: each line starts at the stock the race began with.
    let top = races.iter().map(|(_, t)| t.start_available).max().unwrap_or(1).max(1) as f64;
    let low = races.iter().map(|(_, t)| t.lowest()).min().unwrap_or(0).min(0) as f64;
    let pad = (top - low) * 0.06;
    let mut chart = ChartBuilder::on(&stock_area)
        .caption("available stock (what Redis answered)", ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x_max, (low - pad)..(top + pad))
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("ms since the rush began")
        .y_desc("available")
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(LineSeries::new(
            vec![(0.0, 0.0), (x_max, 0.0)],
            BLACK.mix(0.6).stroke_width(1),
        ))
        .map_err(|e| err(&e))?;
    let mut keys = Vec::new();
    for (i, (strategy, timeline)) in races.iter().enumerate() {
        let color = color_of(strategy, i);
        let mut points = vec![(0.0, timeline.start_available as f64)];
        points.extend(timeline.buckets.iter().map(|b| (ms(b.t_us), b.available as f64)));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(3)))
            .map_err(|e| err(&e))?;
        keys.push(Key {
            name: format!("{strategy}: lowest {}", timeline.lowest()),
            color,
            dashed: false,
        });
    }
    draw_legend(&stock_legend, &keys)?;

    let total = |t: &Timeline, f: fn(&stockwatch_demo::race::Bucket) -> u64| t.buckets.iter().map(f).sum::<u64>();
    let y_max = races
        .iter()
        .map(|(_, t)| total(t, |b| b.attempts))
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.08;
    let mut chart = ChartBuilder::on(&effort_area)
        .caption("attempts (solid) and conflicts (dashed) so far", ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("ms since the rush began")
        .y_desc("so far")
        .draw()
        .map_err(|e| err(&e))?;
    let mut keys = Vec::new();
    for (i, (strategy, timeline)) in races.iter().enumerate() {
        let color = color_of(strategy, i);
        let series = |f: fn(&stockwatch_demo::race::Bucket) -> u64| -> Vec<(f64, f64)> {
            let mut sum = 0;
            let mut points = vec![(0.0, 0.0)];
            points.extend(timeline.buckets.iter().map(|b| {
                sum += f(b);
                (ms(b.t_us), sum as f64)
            }));
            points
        };
        chart
            .draw_series(LineSeries::new(series(|b| b.attempts), color.stroke_width(2)))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(DashedLineSeries::new(
                series(|b| b.conflicts),
                6,
                4,
                color.stroke_width(2),
            ))
            .map_err(|e| err(&e))?;
        keys.push(Key {
            name: format!("{strategy}: {} attempts", total(timeline, |b| b.attempts)),
            color,
            dashed: false,
        });
        keys.push(Key {
            name: format!("{strategy}: {} conflicts", total(timeline, |b| b.conflicts)),
            color,
            dashed: true,
        });
    }
    draw_legend(&effort_legend, &keys)?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
