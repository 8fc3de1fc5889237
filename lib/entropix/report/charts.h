// The report's chart types, drawn as SVG: an annotated heatmap with a colour bar, a line chart with
// a legend, and grouped bars with their values printed. Data in, svg::Document out; no file I/O.
//
// Elements carry classes and data- attributes so that tests (and users' scripts) can read the
// numbers back from the SVG: heatmap cells are <rect class="cell" data-row data-col data-value>
// with a <text class="cell-label" data-row data-col>; bars are <rect class="bar" data-series
// data-group data-value> with <text class="bar-label">; each line series is <g class="series"
// data-name> holding one <polyline class="line"> per unbroken stretch and a <circle class="point">
// per finite point (up to 60 points).
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
};
svg::Document heatmap(const Heatmap& spec);

struct Series {
  std::string name;
  colormap::Rgb colour;
  std::vector<double> x, y;  // same length; a NaN y breaks the line
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
