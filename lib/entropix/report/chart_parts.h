// Pieces shared by the chart types (charts.cpp, line_chart.cpp): text measuring, titles, legends
// and the marker shapes of line charts. Internal to the report module.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "entropix/report/svg.h"
#include "entropix/util/colormap.h"

namespace entropix::charts::parts {

inline const char* const kAxisColour = "#444";
inline const char* const kGridColour = "#e4e4e4";
inline const char* const kMissingColour = "#d9d9d9";

// Rough width of a text in pixels (DejaVu Sans averages about 0.6 em per character).
double text_width(const std::string& s, double size);
// Shortens long legend names so a figure never grows without bound.
std::string shorten(const std::string& s, size_t max_chars);
// Decimals that show a tick step exactly (0.2 -> 1, 5 -> 0).
int decimals_for_step(double step);
// The bold title at the top left.
void title(svg::Document& doc, const std::string& text);
// A value at full precision (%.17g; "nan" when not finite), for data- attributes.
std::string exact(double value);

// Marker shapes, distinct per series index (wrapping after kMarkerShapes).
inline constexpr int kMarkerShapes = 6;
const char* marker_name(int marker);  // circle, square, triangle, diamond, triangle-down, cross
// Draws marker `marker` centred at (x, y) with half-size r. `attrs` are added to the element;
// `tooltip` (when not empty) becomes its <title>.
void marker(svg::Document& doc, int marker, double x, double y, double r, const std::string& colour,
            svg::Attrs attrs, const std::string& tooltip);

struct LegendItem {
  std::string name;
  colormap::Rgb colour;
  int marker = -1;  // -1: a colour swatch; else the series' marker shape over a line
};
// Legend entries stacked at (x, y).
void legend(svg::Document& doc, double x, double y, const std::vector<LegendItem>& items);
double legend_width(const std::vector<std::string>& names);

}  // namespace entropix::charts::parts
