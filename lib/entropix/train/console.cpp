#include "entropix/train/console.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "entropix/util/colormap.h"

namespace entropix {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof(buf), "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
  else if (s >= 60) std::snprintf(buf, sizeof(buf), "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
  else std::snprintf(buf, sizeof(buf), "%llds", (long long)s);
  return buf;
}

namespace {

std::string ansi_cell(const std::string& text, colormap::Rgb background) {
  const colormap::Rgb ink = colormap::text_colour_on(background);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "\033[48;2;%d;%d;%dm\033[38;2;%d;%d;%dm", background.r, background.g, background.b,
                ink.r, ink.g, ink.b);
  return buf + text + "\033[0m";
}

}  // namespace

bool colour_wanted(std::FILE* stream) {
  if (!::isatty(::fileno(stream))) return false;
  const char* no_colour = std::getenv("NO_COLOR");
  if (no_colour && *no_colour) return false;
  const char* term = std::getenv("TERM");
  return !(term && std::string(term) == "dumb");
}

std::string headwise_grid(const EntropyRecord& e, bool colour) {
  double top = 0;  // colour scale 0 .. largest finite entropy of the record
  for (const auto& row : e.headwise)
    for (double v : row)
      if (std::isfinite(v)) top = std::max(top, v);
  std::ostringstream out;
  char buf[32];
  out << "      ";
  const size_t heads = e.headwise.empty() ? 0 : e.headwise[0].size();
  char label[24];  // (labels through snprintf: GCC 12 warns falsely on "h" + std::to_string at -O3)
  for (size_t h = 0; h < heads; ++h) {
    std::snprintf(label, sizeof(label), "h%zu", h);
    std::snprintf(buf, sizeof(buf), "%6s", label);
    out << buf;
  }
  out << "   mean\n";
  for (size_t l = 0; l < e.headwise.size(); ++l) {
    std::snprintf(label, sizeof(label), "L%zu", l);
    std::snprintf(buf, sizeof(buf), "%-6s", label);
    out << buf;
    for (double v : e.headwise[l]) {
      if (std::isfinite(v)) std::snprintf(buf, sizeof(buf), "%6.2f", v);
      else std::snprintf(buf, sizeof(buf), "%6s", "nan");
      if (colour && std::isfinite(v)) out << ansi_cell(buf, colormap::viridis(top > 0 ? v / top : 0.5));
      else out << buf;
    }
    std::snprintf(buf, sizeof(buf), "%7.2f\n", e.layerwise[l]);
    out << buf;
  }
  return out.str();
}

void Console::start(const ExperimentSpec& spec, const std::filesystem::path& run_dir, int64_t params,
                    const std::string& device, int threads) const {
  if (quiet_) return;
  std::printf("run %s -> %s | %.2fM params | %lld layers x %lld heads, d=%lld, T=%lld | %s, %d threads\n",
              spec.name.c_str(), run_dir.string().c_str(), params / 1e6, (long long)spec.model.n_layer,
              (long long)spec.model.n_head, (long long)spec.model.n_embd, (long long)spec.model.context,
              device.c_str(), threads);
  std::fflush(stdout);
}

void Console::train_line(int64_t step, int64_t steps, double loss, double lr, double tokens_per_s,
                         double ms_per_step, double eta_seconds) const {
  if (quiet_) return;
  const int width = static_cast<int>(std::to_string(steps).size());
  std::printf("step %*lld/%lld | loss %.4f | lr %.2e | %7.0f tok/s | %6.1f ms/step | eta %s\n", width,
              (long long)step, (long long)steps, loss, lr, tokens_per_s, ms_per_step,
              format_duration(eta_seconds).c_str());
  std::fflush(stdout);
}

void Console::eval_line(int64_t step, double val_loss) const {
  if (quiet_) return;
  std::printf("eval step %lld | val loss %.4f | val ppl %.3f\n", (long long)step, val_loss, std::exp(val_loss));
  std::fflush(stdout);
}

void Console::diverged(int64_t step, const std::string& what) const {
  // Divergence is reported even in quiet mode: it decides the exit code.
  if (silent_) return;
  std::fprintf(stderr, "error: training diverged at step %lld (%s); logs and summary are in place\n",
               (long long)step, what.c_str());
}

void Console::warning(int64_t step, const std::string& what) const {
  // Warnings go to stderr, also in quiet mode: they are the early signs users act on.
  if (silent_) return;
  std::fprintf(stderr, "warning: step %lld: %s\n", (long long)step, what.c_str());
}

void Console::finished(const std::filesystem::path& run_dir, double val_loss, const EntropyRecord& entropy) const {
  if (quiet_) return;
  std::printf("\ndone: %s\nfinal val loss %.4f | val ppl %.3f\n", run_dir.string().c_str(), val_loss,
              std::exp(val_loss));
  std::printf(
      "\nheadwise attention entropy at step %lld (nats; uniform causal ceiling = %.3f, ln T = %.3f; rows = layers, "
      "columns = heads):\n%s",
      (long long)entropy.step, causal_ceiling_of(entropy.max_entropy), entropy.max_entropy,
      headwise_grid(entropy, colour_wanted(stdout)).c_str());
  std::fflush(stdout);
}

}  // namespace entropix
