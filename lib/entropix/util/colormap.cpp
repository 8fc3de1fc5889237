#include "entropix/util/colormap.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace entropix::colormap {

namespace {

// matplotlib's viridis sampled at 0, 1/8, ..., 1 (the published 9-colour viridis).
constexpr Rgb kViridis[] = {{0x44, 0x01, 0x54}, {0x47, 0x2d, 0x7b}, {0x3b, 0x52, 0x8b},
                            {0x2c, 0x72, 0x8e}, {0x21, 0x91, 0x8c}, {0x28, 0xae, 0x80},
                            {0x5e, 0xc9, 0x62}, {0xad, 0xdc, 0x30}, {0xfd, 0xe7, 0x25}};
constexpr int kViridisStops = sizeof(kViridis) / sizeof(kViridis[0]);

// Okabe & Ito (2008), colour-blind safe; their yellow (#f0e442) is left out: unreadable on white.
constexpr Rgb kCategorical[] = {{0x00, 0x72, 0xb2}, {0xd5, 0x5e, 0x00}, {0x00, 0x9e, 0x73},
                                {0xcc, 0x79, 0xa7}, {0xe6, 0x9f, 0x00}, {0x56, 0xb4, 0xe9},
                                {0x00, 0x00, 0x00}};
constexpr int kCategoricalCount = sizeof(kCategorical) / sizeof(kCategorical[0]);

double linear_channel(int c) {
  const double s = c / 255.0;
  return s <= 0.04045 ? s / 12.92 : std::pow((s + 0.055) / 1.055, 2.4);
}

}  // namespace

Rgb viridis(double t) {
  if (!std::isfinite(t)) t = 0;
  t = std::clamp(t, 0.0, 1.0);
  const double pos = t * (kViridisStops - 1);
  const int i = std::min(static_cast<int>(pos), kViridisStops - 2);
  const double f = pos - i;
  const Rgb& a = kViridis[i];
  const Rgb& b = kViridis[i + 1];
  auto mix = [f](int x, int y) { return static_cast<int>(std::lround(x + (y - x) * f)); };
  return {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)};
}

double normalise(double value, double lo, double hi) {
  if (!std::isfinite(value) || !(hi > lo)) return 0.5;
  return std::clamp((value - lo) / (hi - lo), 0.0, 1.0);
}

std::string hex(Rgb c) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "#%02x%02x%02x", c.r & 0xff, c.g & 0xff, c.b & 0xff);
  return buf;
}

double luminance(Rgb c) {
  return 0.2126 * linear_channel(c.r) + 0.7152 * linear_channel(c.g) + 0.0722 * linear_channel(c.b);
}

Rgb text_colour_on(Rgb background) {
  const double l = luminance(background);
  const double on_black = (l + 0.05) / 0.05, on_white = 1.05 / (l + 0.05);
  return on_black > on_white ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
}

Rgb categorical(int k) { return kCategorical[((k % kCategoricalCount) + kCategoricalCount) % kCategoricalCount]; }

Rgb sequential(int k, int n) {
  if (n <= 1) return viridis(0.45);
  return viridis(0.85 * k / (n - 1));
}

}  // namespace entropix::colormap
