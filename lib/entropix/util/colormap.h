// Colours for the report and the terminal: viridis (a perceptually uniform sequential map) and a
// colour-blind-safe categorical palette for comparing runs.
#pragma once
#include <string>

namespace entropix::colormap {

struct Rgb {
  int r = 0, g = 0, b = 0;  // 0..255
};

// Viridis at t in [0, 1] (clamped; NaN gives the low end): linear interpolation between nine
// evenly spaced control points of matplotlib's viridis (#440154 at 0 ... #fde725 at 1).
Rgb viridis(double t);

// t = (value - lo) / (hi - lo), clamped to [0, 1]; 0.5 when hi <= lo or value is not finite.
double normalise(double value, double lo, double hi);

// "#rrggbb".
std::string hex(Rgb c);

// Relative luminance (WCAG 2), 0 = black .. 1 = white.
double luminance(Rgb c);

// Black or white, whichever reads better on `background` (larger WCAG contrast ratio).
Rgb text_colour_on(Rgb background);

// The k-th colour for the k-th run (Okabe-Ito palette without its yellow, cycling).
Rgb categorical(int k);

// The k-th of n sequential colours (layer 0 darkest): viridis from 0 to 0.85, leaving out the
// palest yellow, which hardly shows on white.
Rgb sequential(int k, int n);

}  // namespace entropix::colormap
