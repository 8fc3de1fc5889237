// The report's chart types, drawn as SVG: an annotated heatmap with a colour bar, a line chart with
// a legend, and grouped bars with their values printed. Data in, svg::Document out; no file I/O.
// charts.cpp draws heatmaps and bars, line_chart.cpp line charts.
//
// Elements carry classes and data- attributes so that tests (and users' scripts) can read the
// numbers back from the SVG: heatmap cells are <rect class="cell" data-row data-col data-value>
// holding a <title> tooltip, with a <text class="cell-label" data-row data-col>; colour-bar ticks
// are <text class="colour-tick" data-value>; bars are <rect class="bar" data-series data-group
// data-value> with <text class="bar-label">; each line series is <g class="series" data-name
// data-marker> holding a <polygon class="band" data-x data-lo data-hi> when it has a band, one
// <polyline class="line"> per unbroken stretch and a marker (class "point", data-x, data-y,
// data-marker, a <title> tooltip) per finite point, at most 60 per series (evenly thinned).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "entropix/report/svg.h"
#include "entropix/util/colormap.h"

namespace entropix::charts {

struct Heatmap {
  std::string id, title;
  std::string row_axis = "layer", col_axis = "head";  // axis names, drawn beside the labels
  std::vector<std::string> row_labels, col_labels;
  std::vector<std::vector<double>> values;  // [row][col]; NaN (or a short row) is drawn as "nan" in grey
  double lo = 0, hi = 1;                    // colour scale: lo = darkest, hi = brightest viridis
  std::string scale_label;                  // over the colour bar, e.g. "nats"
  int decimals = 2;                         // cell annotations
  std::string tooltip_unit;                 // after the value in each cell's tooltip, e.g. "nats"
  // Reference values named below the colour bar, and marked on it where inside [lo, hi]
  // (class "reference-mark" / "reference-label", data-value).
  std::vector<std::pair<double, std::string>> references;
};
svg::Document heatmap(const Heatmap& spec);

struct Series {
  Series() = default;
  Series(std::string name_, colormap::Rgb colour_, std::vector<double> x_ = {}, std::vector<double> y_ = {})
      : name(std::move(name_)), colour(colour_), x(std::move(x_)), y(std::move(y_)) {}
  std::string name;
  colormap::Rgb colour;
  std::vector<double> x, y;  // same length; a NaN y breaks the line
  int marker = 0;            // marker shape (parts::marker_name): distinct per layer or run
  double width = 2;          // line width
  double opacity = 1;        // line and marker opacity (raw curves under their smoothed ones)
  bool markers = true;       // draw markers (with tooltips) at the points
  std::vector<double> band_lo, band_hi;  // empty, or one per x: a shaded band (mean - std, mean + std)
  std::vector<std::string> tips;         // empty, or one tooltip per x (default "name: x, y")
};

struct LineChart {
  std::string id, title, x_label, y_label;
  std::vector<Series> series;
  bool y_from_zero = false;  // y axis includes 0
  bool integer_x = false;    // x ticks only at integers (layers)
  std::vector<std::pair<double, std::string>> reference_lines;  // dashed horizontal lines with a label
};
svg::Document line_chart(const LineChart& spec);

struct GroupedBars {
  std::string id, title, y_label;
  std::vector<std::string> groups;                   // categories along x
  std::vector<std::string> series_names;             // one bar per series in each group
  std::vector<std::vector<double>> values;           // [series][group], fractions in [0, 1]
};
// Bars of fractions, y axis in percent, each bar labelled with its percentage to one decimal.
svg::Document grouped_bars(const GroupedBars& spec);

// Axis ticks at 1, 2 or 5 times a power of ten, about `target` of them, covering [lo, hi]
// (widened to whole ticks when `expand`). Exposed for tests.
struct Axis {
  double lo = 0, hi = 1;
  std::vector<double> ticks;
};
Axis nice_axis(double lo, double hi, int target, bool expand);

// A value with `decimals` decimals ("nan" when not finite).
std::string fixed(double value, int decimals);

}  // namespace entropix::charts
