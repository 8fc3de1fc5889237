// Line charts: axes, dashed reference lines, mean +/- std bands, one polyline per unbroken stretch
// of each series, and a marker with a hover tooltip at each point (charts.h describes the markup).
#include <algorithm>
#include <cmath>

#include "entropix/report/chart_parts.h"
#include "entropix/report/charts.h"

namespace entropix::charts {

namespace {

using namespace parts;
constexpr size_t kMaxMarkers = 60;  // per series; more are thinned evenly (the last always kept)

bool finite_point(const Series& s, size_t i) { return std::isfinite(s.x[i]) && std::isfinite(s.y[i]); }

// The indices that get a marker: every finite point, or an even selection of kMaxMarkers of them.
std::vector<size_t> marker_indices(const Series& s) {
  std::vector<size_t> finite;
  for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
    if (finite_point(s, i)) finite.push_back(i);
  if (finite.size() <= kMaxMarkers) return finite;
  std::vector<size_t> out;
  for (size_t k = 0; k < kMaxMarkers; ++k) out.push_back(finite[k * (finite.size() - 1) / (kMaxMarkers - 1)]);
  return out;
}

std::string joined(const std::vector<double>& v) {
  std::string out;
  for (double x : v) out += (out.empty() ? "" : " ") + exact(x);
  return out;
}

}  // namespace

svg::Document line_chart(const LineChart& spec) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  auto cover_y = [&](double y) {
    if (std::isfinite(y)) ylo = std::min(ylo, y), yhi = std::max(yhi, y);
  };
  for (const auto& s : spec.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!finite_point(s, i)) continue;
      xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
      cover_y(s.y[i]);
      if (i < s.band_lo.size() && i < s.band_hi.size()) cover_y(s.band_lo[i]), cover_y(s.band_hi[i]);
    }
  const bool empty = !std::isfinite(xlo);
  for (const auto& [y, label] : spec.reference_lines) cover_y(y);
  if (empty) xlo = 0, xhi = 1;
  if (!std::isfinite(ylo)) ylo = 0, yhi = 1;
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
    doc.open("line", {{"x1", svg::num(left)}, {"y1", svg::num(py(y))}, {"x2", svg::num(left + plot_w)},
                      {"y2", svg::num(py(y))}, {"stroke", "#888"}, {"stroke-width", "1"},
                      {"stroke-dasharray", "5 4"}, {"class", "reference"}, {"data-value", exact(y)}});
    doc.text_element("title", {}, label);
    doc.close();
    doc.text(left + plot_w - 4, py(y) - 4, label, "end", 10, "#666", {{"class", "reference-label"}, {"data-value", exact(y)}});
  }
  if (empty) doc.text(left + plot_w / 2, top + plot_h / 2, "no data", "middle", 12, "#888");

  for (const auto& s : spec.series) {
    const std::string colour = colormap::hex(s.colour);
    const size_t n = std::min(s.x.size(), s.y.size());
    doc.open("g", {{"class", "series"}, {"data-name", s.name}, {"data-marker", marker_name(s.marker)}});
    if (s.band_lo.size() == n && s.band_hi.size() == n && n > 0) {
      // mean +/- std: upper edge left to right, lower edge back; the exact values ride along.
      std::string upper, lower;
      std::vector<double> bx, blo, bhi;
      for (size_t i = 0; i < n; ++i) {
        if (!std::isfinite(s.x[i]) || !std::isfinite(s.band_lo[i]) || !std::isfinite(s.band_hi[i])) continue;
        upper += (upper.empty() ? "" : " ") + svg::num(px(s.x[i])) + "," + svg::num(py(s.band_hi[i]));
        lower = svg::num(px(s.x[i])) + "," + svg::num(py(s.band_lo[i])) + (lower.empty() ? "" : " ") + lower;
        bx.push_back(s.x[i]), blo.push_back(s.band_lo[i]), bhi.push_back(s.band_hi[i]);
      }
      if (!bx.empty())
        doc.empty("polygon", {{"class", "band"}, {"points", upper + " " + lower}, {"fill", colour}, {"fill-opacity", "0.18"},
                              {"stroke", "none"}, {"data-x", joined(bx)}, {"data-lo", joined(blo)}, {"data-hi", joined(bhi)}});
    }
    // One polyline per run of finite points: a NaN leaves a gap.
    std::string points;
    int count = 0;
    auto flush = [&] {
      if (count >= 2) {
        doc.open("polyline", {{"class", "line"}, {"points", points}, {"fill", "none"}, {"stroke", colour},
                              {"stroke-width", svg::num(s.width)}, {"stroke-opacity", svg::num(s.opacity)}});
        doc.text_element("title", {}, s.name);
        doc.close();
      }
      points.clear();
      count = 0;
    };
    for (size_t i = 0; i < n; ++i) {
      if (!finite_point(s, i)) {
        flush();
        continue;
      }
      points += (count ? " " : "") + svg::num(px(s.x[i])) + "," + svg::num(py(s.y[i]));
      ++count;
    }
    flush();
    if (s.markers) {
      for (size_t i : marker_indices(s)) {
        const std::string tip = i < s.tips.size() ? s.tips[i]
                                                  : s.name + ": " + fixed(s.x[i], spec.integer_x ? 0 : xdec) + ", " +
                                                        fixed(s.y[i], 4);
        marker(doc, s.marker, px(s.x[i]), py(s.y[i]), 3.5, colour,
               {{"class", "point"}, {"data-x", exact(s.x[i])}, {"data-y", exact(s.y[i])},
                {"fill-opacity", svg::num(s.opacity)}},
               tip);
      }
    }
    doc.close();
  }
  std::vector<LegendItem> items;
  for (const auto& s : spec.series) items.push_back({s.name, s.colour, s.markers ? s.marker : -1});
  legend(doc, legend_x, top + 10, items);
  return doc;
}

}  // namespace entropix::charts
