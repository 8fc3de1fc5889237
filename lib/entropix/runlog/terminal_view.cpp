#include "entropix/runlog/terminal_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "entropix/runlog/sparkline.h"
#include "entropix/util/colormap.h"

namespace entropix::runlog {
using nlohmann::json;

namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

double num(const json& r, const char* key) {
  return r.is_object() && r.contains(key) && r[key].is_number() ? r[key].get<double>() : NAN;
}

// Background and text escape codes for one heatmap cell.
std::string cell_colour(colormap::Rgb bg, Colour mode) {
  const colormap::Rgb fg = colormap::text_colour_on(bg);
  char buf[96];
  if (mode == Colour::truecolor)
    std::snprintf(buf, sizeof buf, "\x1b[48;2;%d;%d;%dm\x1b[38;2;%d;%d;%dm", bg.r, bg.g, bg.b, fg.r, fg.g, fg.b);
  else
    std::snprintf(buf, sizeof buf, "\x1b[48;5;%dm\x1b[38;5;%dm", ansi256_index(bg.r, bg.g, bg.b),
                  ansi256_index(fg.r, fg.g, fg.b));
  return buf;
}

std::string status_line(const WatchState& s) {
  std::string line = "entropix watch " + s.run_dir + " | " + s.status;
  if (!s.last_train.is_object()) return line + " | no train record yet\n";
  const auto step = s.last_train.value("step", int64_t{0});
  line += " | step " + std::to_string(step);
  if (s.total_steps && *s.total_steps > 0) {
    line += "/" + std::to_string(*s.total_steps) +
            fmt(" (%.0f%%)", 100.0 * static_cast<double>(step) / static_cast<double>(*s.total_steps));
  }
  const double tps = num(s.last_train, "tokens_per_s"), ms = num(s.last_train, "ms_per_step");
  if (std::isfinite(tps)) line += fmt(" | %.0f tok/s", tps);
  if (std::isfinite(ms)) line += fmt(" | %.1f ms/step", ms);
  if (s.status == "running" && s.total_steps && std::isfinite(ms))
    line += " | eta " + format_duration(static_cast<double>(std::max<int64_t>(*s.total_steps - step, 0)) * ms / 1000.0);
  return line + "\n";
}

std::string loss_lines(const WatchState& s, int width) {
  if (s.losses.empty()) return "";
  double lo = INFINITY;
  for (double v : s.losses)
    if (std::isfinite(v)) lo = std::min(lo, v);
  const std::string label = "loss " + fmt("%.4f", s.losses.back()) + " (min " + fmt("%.4f", lo) + ") ";
  std::string out = label + sparkline(s.losses, std::max(8, width - static_cast<int>(label.size()))) + "\n";
  if (s.last_eval.is_object())
    out += "val loss " + fmt("%.4f", num(s.last_eval, "val_loss")) + " | ppl " + fmt("%.3f", num(s.last_eval, "val_ppl")) +
           " at step " + std::to_string(s.last_eval.value("step", int64_t{0})) + "\n";
  return out;
}

std::string heatmap(const json& e, Colour colour) {
  if (!e.is_object() || !e.contains("headwise")) return "";
  const json& headwise = e["headwise"];
  const double ceiling = num(e, "causal_ceiling"), ln_t = num(e, "max_entropy");
  std::string out = "headwise entropy at step " + std::to_string(e.value("step", int64_t{0})) + " (" +
                    e.value("split", std::string("?")) + ", nats; causal ceiling " + fmt("%.3f", ceiling) + ", ln T " +
                    fmt("%.3f", ln_t) + "):\n";
  size_t heads = 0;
  for (const auto& row : headwise) heads = std::max(heads, row.size());
  out += "     ";
  for (size_t h = 0; h < heads; ++h) {
    const std::string name = "h" + std::to_string(h);
    out += std::string(6 - std::min<size_t>(6, name.size()), ' ') + name;  // right-aligned in 6
  }
  out += "   mean\n";
  const double top = std::isfinite(ceiling) && ceiling > 0 ? ceiling : ln_t;
  for (size_t l = 0; l < headwise.size(); ++l) {
    const std::string label = "L" + std::to_string(l);
    out += label + std::string(5 - std::min<size_t>(4, label.size()), ' ');  // left-aligned in 5, one space at least
    for (size_t h = 0; h < headwise[l].size(); ++h) {
      const json& v = headwise[l][h];
      const std::string text = v.is_number() ? fmt("%6.2f", v.get<double>()) : std::string("   nan");
      if (colour == Colour::none || !v.is_number()) {
        out += text;
      } else {
        const colormap::Rgb bg = colormap::viridis(colormap::normalise(v.get<double>(), 0.0, top));
        out += cell_colour(bg, colour) + text + "\x1b[0m";
      }
    }
    const json& layerwise = e.value("layerwise", json::array());
    out += l < layerwise.size() && layerwise[l].is_number() ? fmt("%7.2f", layerwise[l].get<double>()) : "    nan";
    out += "\n";
  }
  return out;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600), static_cast<long long>(s % 3600 / 60));
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  return buf;
}

int ansi256_index(int r, int g, int b) {
  // The cube's levels are 0, 95, 135, 175, 215, 255: pick the nearest per channel.
  auto level = [](int v) {
    static const int levels[6] = {0, 95, 135, 175, 215, 255};
    int best = 0;
    for (int i = 1; i < 6; ++i)
      if (std::abs(levels[i] - v) < std::abs(levels[best] - v)) best = i;
    return best;
  };
  return 16 + 36 * level(r) + 6 * level(g) + level(b);
}

std::string render_frame(const WatchState& s, const ViewOptions& o) {
  std::string out = status_line(s) + loss_lines(s, o.width);
  if (s.last_event.is_object()) {
    std::string line = "last event at step " + std::to_string(s.last_event.value("step", int64_t{0})) + ": " +
                       s.last_event.value("name", std::string()) + ": " + s.last_event.value("message", std::string());
    if (o.width > 3 && line.size() > static_cast<size_t>(o.width)) line = line.substr(0, o.width - 3) + "...";
    out += line + "\n";
  }
  return out + heatmap(s.last_entropy, o.colour);
}

}  // namespace entropix::runlog
