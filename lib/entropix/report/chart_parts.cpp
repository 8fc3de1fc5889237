#include "entropix/report/chart_parts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace entropix::charts::parts {

double text_width(const std::string& s, double size) {
  size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;  // count UTF-8 code points
  return 0.6 * size * static_cast<double>(chars);
}

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

std::string exact(double value) {
  if (!std::isfinite(value)) return "nan";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  return buf;
}

const char* marker_name(int marker) {
  static const char* const names[kMarkerShapes] = {"circle", "square", "triangle", "diamond", "triangle-down", "cross"};
  return names[((marker % kMarkerShapes) + kMarkerShapes) % kMarkerShapes];
}

void marker(svg::Document& doc, int marker, double x, double y, double r, const std::string& colour,
            svg::Attrs attrs, const std::string& tooltip) {
  const std::string shape = marker_name(marker);
  attrs.push_back({"data-marker", shape});
  auto p = [](double a, double b) { return svg::num(a) + "," + svg::num(b); };
  std::string name = "path";
  svg::Attrs geometry;
  if (shape == "circle") {
    name = "circle";
    geometry = {{"cx", svg::num(x)}, {"cy", svg::num(y)}, {"r", svg::num(r)}};
  } else if (shape == "square") {
    name = "rect";
    const double s = r * 0.9;
    geometry = {{"x", svg::num(x - s)}, {"y", svg::num(y - s)}, {"width", svg::num(2 * s)}, {"height", svg::num(2 * s)}};
  } else if (shape == "triangle") {
    geometry = {{"d", "M" + p(x, y - 1.2 * r) + " L" + p(x + 1.1 * r, y + 0.8 * r) + " L" + p(x - 1.1 * r, y + 0.8 * r) + " Z"}};
  } else if (shape == "diamond") {
    geometry = {{"d", "M" + p(x, y - 1.3 * r) + " L" + p(x + r, y) + " L" + p(x, y + 1.3 * r) + " L" + p(x - r, y) + " Z"}};
  } else if (shape == "triangle-down") {
    geometry = {{"d", "M" + p(x, y + 1.2 * r) + " L" + p(x + 1.1 * r, y - 0.8 * r) + " L" + p(x - 1.1 * r, y - 0.8 * r) + " Z"}};
  } else {  // cross: drawn with a stroke, so it reads in the same colour as the others
    const double s = r * 1.1;
    geometry = {{"d", "M" + p(x - s, y - s) + " L" + p(x + s, y + s) + " M" + p(x - s, y + s) + " L" + p(x + s, y - s)},
                {"stroke", colour},
                {"stroke-width", "2"}};
  }
  geometry.push_back({"fill", shape == "cross" ? "none" : colour});
  geometry.insert(geometry.end(), attrs.begin(), attrs.end());
  if (tooltip.empty()) {
    doc.empty(name, geometry);
    return;
  }
  doc.open(name, geometry);
  doc.text_element("title", {}, tooltip);
  doc.close();
}

void legend(svg::Document& doc, double x, double y, const std::vector<LegendItem>& items) {
  doc.open("g", {{"class", "legend"}});
  for (size_t i = 0; i < items.size(); ++i) {
    const double yy = y + 18.0 * i;
    const std::string colour = colormap::hex(items[i].colour);
    if (items[i].marker < 0) {
      doc.rect(x, yy - 9, 14, 10, colour);
    } else {
      doc.line(x - 2, yy - 4, x + 16, yy - 4, colour, 2);
      marker(doc, items[i].marker, x + 7, yy - 4, 3.5, colour, {{"class", "legend-marker"}}, "");
    }
    doc.text(x + 20, yy, shorten(items[i].name, 40), "start", 11);
  }
  doc.close();
}

double legend_width(const std::vector<std::string>& names) {
  double w = 0;
  for (const auto& n : names) w = std::max(w, text_width(shorten(n, 40), 11));
  return w + 32;
}

}  // namespace entropix::charts::parts
