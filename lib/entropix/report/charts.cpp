#include "entropix/report/charts.h"

#include "entropix/report/chart_parts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace entropix::charts {

namespace {

using namespace parts;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

std::string fixed(double value, int decimals) {
  if (!std::isfinite(value)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  std::string s = buf;
  // "-0.00" reads as a sign where there is none.
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);
  return s;
}

Axis nice_axis(double lo, double hi, int target, bool expand) {
  Axis axis;
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo < 1e-12) {  // one value: a unit-wide range around it
    const double pad = std::abs(lo) > 1e-12 ? std::abs(lo) * 0.1 : 0.5;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw * (1 - 1e-9)) break;
  }
  const double first = std::ceil(lo / step - 1e-9) * step;
  if (expand) {
    axis.lo = std::floor(lo / step + 1e-9) * step;
    axis.hi = std::ceil(hi / step - 1e-9) * step;
  } else {
    axis.lo = lo;
    axis.hi = hi;
  }
  for (double t = expand ? axis.lo : first; t <= axis.hi + step * 1e-6; t += step)
    axis.ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return axis;
}

svg::Document heatmap(const Heatmap& spec) {
  const size_t rows = spec.values.size();
  size_t cols = spec.col_labels.size();
  for (const auto& r : spec.values) cols = std::max(cols, r.size());
  const double cell_w = 46, cell_h = 26;
  const double left = 64, top = 58;
  const double grid_w = cell_w * cols, grid_h = cell_h * rows;
  const double bar_x = left + grid_w + 22, bar_w = 16, bar_h = std::max(grid_h, 120.0);
  double notes_w = 0;
  for (const auto& ref : spec.references) notes_w = std::max(notes_w, text_width(ref.second + " (red mark on the colour bar)", 10));
  const double width = std::max({bar_x + bar_w + 56, text_width(spec.title, 14) + 24, left + notes_w + 12});
  const double notes_h = 14.0 * static_cast<double>(spec.references.size()) + (spec.references.empty() ? 0 : 10);
  const double height = top + std::max(grid_h, bar_h) + notes_h + 20;

  svg::Document doc(width, height, spec.id, spec.title);
  title(doc, spec.title);
  doc.text(left + grid_w / 2, 40, spec.col_axis, "middle", 11, "#555");
  doc.text(14, top + grid_h / 2, spec.row_axis, "middle", 11, "#555",
           {{"transform", "rotate(-90 14 " + svg::num(top + grid_h / 2) + ")"}});
  for (size_t c = 0; c < cols; ++c) {
    const std::string label = c < spec.col_labels.size() ? spec.col_labels[c] : std::to_string(c);
    doc.text(left + cell_w * (c + 0.5), top - 6, label, "middle", 11);
  }
  doc.open("g", {{"class", "cells"}});
  for (size_t r = 0; r < rows; ++r) {
    const std::string label = r < spec.row_labels.size() ? spec.row_labels[r] : std::to_string(r);
    doc.text(left - 8, top + cell_h * (r + 0.5) + 4, label, "end", 11);
    for (size_t c = 0; c < cols; ++c) {
      const double v = c < spec.values[r].size() ? spec.values[r][c] : kNaN;
      const bool finite = std::isfinite(v);
      const colormap::Rgb fill = colormap::viridis(colormap::normalise(v, spec.lo, spec.hi));
      const double x = left + cell_w * c, y = top + cell_h * r;
      const std::string row = std::to_string(r), col = std::to_string(c);
      const std::string row_label = r < spec.row_labels.size() ? spec.row_labels[r] : row;
      const std::string col_label = c < spec.col_labels.size() ? spec.col_labels[c] : col;
      doc.open("rect", {{"x", svg::num(x)},
                        {"y", svg::num(y)},
                        {"width", svg::num(cell_w)},
                        {"height", svg::num(cell_h)},
                        {"fill", finite ? colormap::hex(fill) : kMissingColour},
                        {"class", "cell"},
                        {"data-row", row},
                        {"data-col", col},
                        {"data-value", exact(v)},
                        {"stroke", "#ffffff"},
                        {"stroke-width", "1"}});
      // The hover text: where the cell is and its value to four decimals.
      doc.text_element("title", {}, row_label + " " + col_label + ": " + fixed(v, 4) +
                                        (spec.tooltip_unit.empty() || !finite ? "" : " " + spec.tooltip_unit));
      doc.close();
      const colormap::Rgb ink = finite ? colormap::text_colour_on(fill) : colormap::Rgb{80, 80, 80};
      doc.text(x + cell_w / 2, y + cell_h / 2 + 4, fixed(v, spec.decimals), "middle", 11, colormap::hex(ink),
               {{"class", "cell-label"}, {"data-row", row}, {"data-col", col}});
    }
  }
  doc.close();

  // Colour bar: thin bands from lo (bottom) to hi (top), ticks on the right.
  doc.open("g", {{"class", "colour-bar"}});
  doc.text(bar_x + bar_w / 2, top - 6, spec.scale_label, "middle", 11, "#555");
  const int bands = 64;
  for (int i = 0; i < bands; ++i) {
    const double y = top + bar_h * (1.0 - (i + 1.0) / bands);
    doc.rect(bar_x, y, bar_w, bar_h / bands + 0.5, colormap::hex(colormap::viridis((i + 0.5) / bands)));
  }
  doc.rect(bar_x, top, bar_w, bar_h, "none", {{"stroke", kAxisColour}, {"stroke-width", "1"}});
  // Round ticks, then the scale's ends (the maximum is the value readers look for); a round
  // tick closer than 8% of the bar to an end gives way so the labels do not overlap.
  const Axis axis = nice_axis(spec.lo, spec.hi, 5, false);
  const double span = spec.hi - spec.lo;
  // One number format for all ticks: the annotations' decimals, or more where the steps need them.
  const int tick_decimals =
      std::max(spec.decimals, decimals_for_step(axis.ticks.size() > 1 ? axis.ticks[1] - axis.ticks[0] : 1.0));
  std::vector<std::pair<double, std::string>> ticks;
  for (double t : axis.ticks)
    if (std::abs(t - spec.hi) > 0.08 * span && std::abs(t - spec.lo) > 0.08 * span)
      ticks.push_back({t, fixed(t, tick_decimals)});
  ticks.push_back({spec.lo, fixed(spec.lo, tick_decimals)});
  ticks.push_back({spec.hi, fixed(spec.hi, tick_decimals)});
  for (const auto& [t, label] : ticks) {
    const double y = top + bar_h * (1.0 - colormap::normalise(t, spec.lo, spec.hi));
    doc.line(bar_x + bar_w, y, bar_x + bar_w + 4, y, kAxisColour);
    doc.text(bar_x + bar_w + 7, y + 4, label, "start", 10, "#222", {{"class", "colour-tick"}, {"data-value", exact(t)}});
  }
  for (size_t i = 0; i < spec.references.size(); ++i) {
    const auto& [v, label] = spec.references[i];
    if (v >= spec.lo && v <= spec.hi) {
      const double y = top + bar_h * (1.0 - colormap::normalise(v, spec.lo, spec.hi));
      doc.line(bar_x - 3, y, bar_x + bar_w, y, "#d62728", 2,
               {{"class", "reference-mark"}, {"data-value", exact(v)}, {"stroke-dasharray", "3 2"}});
    }
    const bool inside = v >= spec.lo && v <= spec.hi;
    doc.text(left, top + std::max(grid_h, bar_h) + 18 + 14.0 * i, label + (inside ? " (red mark on the colour bar)" : " (above the scale)"),
             "start", 10, "#555", {{"class", "reference-label"}, {"data-value", exact(v)}});
  }
  doc.close();
  return doc;
}

svg::Document grouped_bars(const GroupedBars& spec) {
  const size_t groups = spec.groups.size(), series = spec.series_names.size();
  const double bar_w = std::clamp(260.0 / std::max<size_t>(1, series), 14.0, 48.0);
  double label_w = 0;
  for (const auto& g : spec.groups) label_w = std::max(label_w, text_width(g, 11));
  const double group_w = std::max(bar_w * series, label_w) + 24;
  const double left = 70, top = 40, plot_h = 240, bottom = 56;
  const double plot_w = std::max(group_w * groups, 200.0);
  const double legend_x = left + plot_w + 20;
  const double width = std::max(legend_x + legend_width(spec.series_names) + 8, text_width(spec.title, 14) + 24);
  const double height = std::max(top + plot_h + bottom, top + 18.0 * static_cast<double>(series) + 20);
  double top_value = 0;
  for (const auto& row : spec.values)
    for (double v : row)
      if (std::isfinite(v)) top_value = std::max(top_value, v);
  // Percent axis up to the next 20% above the tallest bar (room for its label), at most 100%.
  const double ymax = std::min(1.0, std::max(0.2, std::ceil(top_value * 5 + 0.25) / 5));
  auto py = [&](double v) { return top + plot_h * (1.0 - v / ymax); };

  svg::Document doc(width, height, spec.id, spec.title);
  title(doc, spec.title);
  doc.open("g", {{"class", "axes"}});
  for (int p = 0; p <= static_cast<int>(std::lround(ymax * 100)); p += 20) {
    doc.line(left, py(p / 100.0), left + plot_w, py(p / 100.0), kGridColour);
    doc.text(left - 6, py(p / 100.0) + 4, std::to_string(p) + "%", "end", 10);
  }
  doc.line(left, top + plot_h, left + plot_w, top + plot_h, kAxisColour);
  doc.text(16, top + plot_h / 2, spec.y_label, "middle", 11, "#555",
           {{"transform", "rotate(-90 16 " + svg::num(top + plot_h / 2) + ")"}});
  doc.close();
  for (size_t g = 0; g < groups; ++g) {
    const double gx = left + group_w * g + (group_w - bar_w * series) / 2;
    doc.text(gx + bar_w * series / 2, top + plot_h + 18, spec.groups[g], "middle", 11);
    for (size_t s = 0; s < series; ++s) {
      const double v = g < spec.values[s].size() ? spec.values[s][g] : kNaN;
      const double shown = std::isfinite(v) ? std::clamp(v, 0.0, ymax) : 0.0;
      const double x = gx + bar_w * s;
      doc.rect(x + 1, py(shown), bar_w - 2, plot_h * shown / ymax, colormap::hex(colormap::categorical(static_cast<int>(s))),
               {{"class", "bar"},
                {"data-series", std::to_string(s)},
                {"data-group", std::to_string(g)},
                {"data-value", exact(v)}});
      doc.text(x + bar_w / 2, py(shown) - 4, std::isfinite(v) ? fixed(100 * v, 1) + "%" : "n/a", "middle",
               bar_w < 30 ? 8 : 10, "#222",
               {{"class", "bar-label"}, {"data-series", std::to_string(s)}, {"data-group", std::to_string(g)}});
    }
  }
  std::vector<LegendItem> items;
  for (size_t s = 0; s < series; ++s) items.push_back({spec.series_names[s], colormap::categorical(static_cast<int>(s))});
  legend(doc, legend_x, top + 10, items);
  return doc;
}

}  // namespace entropix::charts
