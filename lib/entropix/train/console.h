// Progress and result lines that `entropix run` prints while training.
#pragma once
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "entropix/entropy/entropy.h"
#include "entropix/spec/spec.h"

namespace entropix {

class Console {
 public:
  // quiet: no progress lines (divergence and warnings still go to stderr); silent: nothing at all
  // (the ranks other than 0 of a data-parallel run, whose rank 0 reports for them).
  explicit Console(bool quiet, bool silent = false) : quiet_(quiet || silent), silent_(silent) {}
  void start(const ExperimentSpec& spec, const std::filesystem::path& run_dir, int64_t params,
             const std::string& device, int threads) const;
  void train_line(int64_t step, int64_t steps, double loss, double lr, double tokens_per_s, double ms_per_step,
                  double eta_seconds) const;
  void eval_line(int64_t step, double val_loss) const;
  void diverged(int64_t step, const std::string& what) const;
  void warning(int64_t step, const std::string& what) const;
  void finished(const std::filesystem::path& run_dir, double val_loss, const EntropyRecord& entropy) const;

 private:
  bool quiet_;
  bool silent_;
};

// "1h02m", "3m05s", "42s".
std::string format_duration(double seconds);

// The headwise entropy table as an L x H grid of numbers (layers down, heads across, layer means on
// the right). With `colour`, each head's cell gets an ANSI 24-bit background from viridis (0 nats
// darkest, the record's largest entropy brightest, as the report's heatmaps) and a readable
// foreground; the characters between the escape codes are those of the plain grid.
std::string headwise_grid(const EntropyRecord& entropy, bool colour = false);

// Whether to colour what goes to `stream`: it is a terminal, NO_COLOR is unset or empty
// (https://no-color.org), and TERM is not "dumb".
bool colour_wanted(std::FILE* stream);

}  // namespace entropix
