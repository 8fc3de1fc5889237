#include "entropix/report/charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace entropix::charts {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const char* const kAxisColour = "#444";
const char* const kGridColour = "#e4e4e4";
const char* const kMissingColour = "#d9d9d9";

// Rough width of a text in pixels (DejaVu Sans averages about 0.6 em per character).
double text_width(const std::string& s, double size) {
  size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;  // count UTF-8 code points
  return 0.6 * size * static_cast<double>(chars);
}

// Shortens long legend names so a figure never grows without bound.
std::string shorten(const std::string& s, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (++chars > max_chars) return s.substr(0, i) + "\xE2\x80\xA6";  // …
  }
  return s;
}

int decimals_for_step(double step) {
  if (!(step > 0)) return 0;
  return std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
}

void title(svg::Document& doc, const std::string& text) {
  doc.text(12, 22, text, "start", 14, "#111", {{"font-weight", "bold"}, {"class", "chart-title"}});
}

// Legend entries stacked at (x, y): a colour swatch and the name.
void legend(svg::Document& doc, double x, double y, const std::vector<std::pair<std::string, colormap::Rgb>>& items) {
  doc.open("g", {{"class", "legend"}});
  for (size_t i = 0; i < items.size(); ++i) {
    const double yy = y + 18.0 * i;
    doc.rect(x, yy - 9, 14, 10, colormap::hex(items[i].second));
    doc.text(x + 20, yy, shorten(items[i].first, 40), "start", 11);
  }
  doc.close();
}

double legend_width(const std::vector<std::string>& names) {
  double w = 0;
  for (const auto& n : names) w = std::max(w, text_width(shorten(n, 40), 11));
  return w + 32;
}

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
  const double width = std::max(bar_x + bar_w + 56, text_width(spec.title, 14) + 24);
  const double height = top + std::max(grid_h, bar_h) + 20;

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
      char value[40];
      std::snprintf(value, sizeof(value), "%.17g", v);
      doc.rect(x, y, cell_w, cell_h, finite ? colormap::hex(fill) : kMissingColour,
               {{"class", "cell"},
                {"data-row", row},
                {"data-col", col},
                {"data-value", finite ? value : "nan"},
                {"stroke", "#ffffff"},
                {"stroke-width", "1"}});
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
  const Axis axis = nice_axis(spec.lo, spec.hi, 5, false);
  const int tick_decimals = decimals_for_step(axis.ticks.size() > 1 ? axis.ticks[1] - axis.ticks[0] : 1.0);
  for (double t : axis.ticks) {
    const double y = top + bar_h * (1.0 - colormap::normalise(t, spec.lo, spec.hi));
    doc.line(bar_x + bar_w, y, bar_x + bar_w + 4, y, kAxisColour);
    doc.text(bar_x + bar_w + 7, y + 4, fixed(t, tick_decimals), "start", 10);
  }
  doc.close();
  return doc;
}

svg::Document line_chart(const LineChart& spec) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const auto& s : spec.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
      ylo = std::min(ylo, s.y[i]), yhi = std::max(yhi, s.y[i]);
    }
  for (const auto& [y, label] : spec.reference_lines) ylo = std::min(ylo, y), yhi = std::max(yhi, y);
  const bool empty = !std::isfinite(xlo);
  if (empty) xlo = 0, xhi = 1, ylo = 0, yhi = 1;
  if (spec.y_from_zero) ylo = std::min(ylo, 0.0), yhi = std::max(yhi, 0.0);
  Axis xa = nice_axis(xlo, xhi, 6, false);
  if (xhi - xlo < 1e-12) xa = nice_axis(xlo - 0.5, xhi + 0.5, 2, false);  // one x value: centre it
  if (spec.integer_x) {
    xa.ticks.erase(std::remove_if(xa.ticks.begin(), xa.ticks.end(),
                                  [](double t) { return std::abs(t - std::round(t)) > 1e-9; }),
                   xa.ticks.end());
  }
  const Axis ya = nice_axis(ylo, yhi, 5, true);

  std::vector<std::string> names;
  for (const auto& s : spec.series) names.push_back(s.name);
  const double left = 70, top = 40, plot_w = 380, plot_h = 240, bottom = 50;
  const double legend_x = left + plot_w + 20;
  const double width = std::max(legend_x + legend_width(names) + 8, text_width(spec.title, 14) + 24);
  const double height =
      std::max(top + plot_h + bottom, top + 18.0 * static_cast<double>(spec.series.size()) + 20);
  auto px = [&](double x) { return left + plot_w * (x - xa.lo) / (xa.hi - xa.lo); };
  auto py = [&](double y) { return top + plot_h * (1.0 - (y - ya.lo) / (ya.hi - ya.lo)); };

  svg::Document doc(width, height, spec.id, spec.title);
  title(doc, spec.title);
  doc.open("g", {{"class", "axes"}});
  const int ydec = decimals_for_step(ya.ticks.size() > 1 ? ya.ticks[1] - ya.ticks[0] : 1.0);
  for (double t : ya.ticks) {
    doc.line(left, py(t), left + plot_w, py(t), kGridColour);
    doc.text(left - 6, py(t) + 4, fixed(t, ydec), "end", 10);
  }
  const int xdec = spec.integer_x ? 0 : decimals_for_step(xa.ticks.size() > 1 ? xa.ticks[1] - xa.ticks[0] : 1.0);
  for (double t : xa.ticks) {
    doc.line(px(t), top + plot_h, px(t), top + plot_h + 4, kAxisColour);
    doc.text(px(t), top + plot_h + 16, fixed(t, xdec), "middle", 10);
  }
  doc.rect(left, top, plot_w, plot_h, "none", {{"stroke", kAxisColour}, {"stroke-width", "1"}});
  doc.text(left + plot_w / 2, top + plot_h + 36, spec.x_label, "middle", 11, "#555");
  doc.text(16, top + plot_h / 2, spec.y_label, "middle", 11, "#555",
           {{"transform", "rotate(-90 16 " + svg::num(top + plot_h / 2) + ")"}});
  doc.close();

  for (const auto& [y, label] : spec.reference_lines) {
    doc.line(left, py(y), left + plot_w, py(y), "#888", 1, {{"stroke-dasharray", "5 4"}, {"class", "reference"}});
    doc.text(left + plot_w - 4, py(y) - 4, label, "end", 10, "#666");
  }
  if (empty) doc.text(left + plot_w / 2, top + plot_h / 2, "no data", "middle", 12, "#888");

  for (const auto& s : spec.series) {
    const std::string colour = colormap::hex(s.colour);
    doc.open("g", {{"class", "series"}, {"data-name", s.name}});
    // One polyline per run of finite points: a NaN leaves a gap.
    std::string points;
    int count = 0;
    auto flush = [&] {
      if (count >= 2)
        doc.empty("polyline", {{"class", "line"}, {"points", points}, {"fill", "none"}, {"stroke", colour}, {"stroke-width", "2"}});
      points.clear();
      count = 0;
    };
    const size_t n = std::min(s.x.size(), s.y.size());
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        flush();
        continue;
      }
      points += (count ? " " : "") + svg::num(px(s.x[i])) + "," + svg::num(py(s.y[i]));
      ++count;
    }
    flush();
    if (n <= 60) {  // markers while they stay readable
      for (size_t i = 0; i < n; ++i) {
        if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
        doc.open("circle", {{"class", "point"}, {"cx", svg::num(px(s.x[i]))}, {"cy", svg::num(py(s.y[i]))}, {"r", "3"}, {"fill", colour}});
        doc.text_element("title", {}, s.name + ": " + fixed(s.x[i], spec.integer_x ? 0 : xdec) + ", " +
                                          fixed(s.y[i], 4));
        doc.close();
      }
    }
    doc.close();
  }
  std::vector<std::pair<std::string, colormap::Rgb>> items;
  for (const auto& s : spec.series) items.push_back({s.name, s.colour});
  legend(doc, legend_x, top + 10, items);
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
      char value[40];
      std::snprintf(value, sizeof(value), "%.17g", v);
      doc.rect(x + 1, py(shown), bar_w - 2, plot_h * shown / ymax, colormap::hex(colormap::categorical(static_cast<int>(s))),
               {{"class", "bar"},
                {"data-series", std::to_string(s)},
                {"data-group", std::to_string(g)},
                {"data-value", std::isfinite(v) ? value : "nan"}});
      doc.text(x + bar_w / 2, py(shown) - 4, std::isfinite(v) ? fixed(100 * v, 1) + "%" : "n/a", "middle",
               bar_w < 30 ? 8 : 10, "#222",
               {{"class", "bar-label"}, {"data-series", std::to_string(s)}, {"data-group", std::to_string(g)}});
    }
  }
  std::vector<std::pair<std::string, colormap::Rgb>> items;
  for (size_t s = 0; s < series; ++s) items.push_back({spec.series_names[s], colormap::categorical(static_cast<int>(s))});
  legend(doc, legend_x, top + 10, items);
  return doc;
}

}  // namespace entropix::charts
