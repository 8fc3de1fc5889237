#include "entropix/runlog/watch.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <cstdlib>
#include <ostream>
#include <thread>

#include "entropix/metrics/run_status.h"
#include "entropix/runlog/metrics_follower.h"
#include "entropix/runlog/terminal_view.h"
#include "entropix/util/error.h"
#include "entropix/util/signals.h"

namespace entropix::runlog {
namespace fs = std::filesystem;

namespace {

Colour pick_colour(const std::string& choice, bool terminal) {
  if (choice == "never") return Colour::none;
  if (choice == "256") return Colour::ansi256;
  if (choice == "truecolor") return Colour::truecolor;
  if (!terminal) return Colour::none;
  const char* ct = std::getenv("COLORTERM");  // how terminals announce 24-bit colour
  const std::string colorterm = ct ? ct : "";
  return colorterm == "truecolor" || colorterm == "24bit" ? Colour::truecolor : Colour::ansi256;
}

int terminal_width() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

// The frame redrawn over the previous one: cursor home, each line cleared to its end, the rest of
// the screen cleared below.
std::string in_place(const std::string& frame) {
  std::string out = "\x1b[H";
  size_t start = 0;
  for (size_t nl; (nl = frame.find('\n', start)) != std::string::npos; start = nl + 1)
    out += frame.substr(start, nl - start) + "\x1b[K\n";
  return out + "\x1b[J";
}

// Whether the run has ended: summary.json names how, and is not older than metrics.jsonl. A
// resumed run appends to metrics.jsonl while the summary of its interrupted part is still there.
bool run_ended(const fs::path& run_dir, RunStatus status) {
  if (status == RunStatus::unfinished) return false;
  std::error_code e1, e2;
  const auto summary = fs::last_write_time(run_dir / "summary.json", e1);
  const auto metrics = fs::last_write_time(run_dir / "metrics.jsonl", e2);
  return e1 || e2 || summary >= metrics;
}

}  // namespace

int watch(const WatchOptions& o, std::ostream& out, bool terminal) {
  std::error_code ec;
  if (!fs::is_directory(o.run_dir, ec) ||
      (!fs::exists(o.run_dir / "spec.yaml", ec) && !fs::exists(o.run_dir / "metrics.jsonl", ec)))
    throw InputError(o.run_dir.string() + ": not a run directory (no spec.yaml or metrics.jsonl; entropix run writes them)");
  if (!(o.interval_s > 0)) throw InputError("--interval " + std::to_string(o.interval_s) + ": must be positive");

  StopSignals signals;  // SIGINT/SIGTERM end the view cleanly (exit 0)
  WatchState state;
  state.run_dir = o.run_dir.string();
  MetricsFollower follower(o.run_dir / "metrics.jsonl");
  ViewOptions view;
  view.colour = pick_colour(o.colour, terminal);
  if (terminal) out << "\x1b[2J";
  bool first = true;
  for (;;) {
    // Read the status before the records: a run that has ended wrote all its records before
    // summary.json, so this last poll then sees every one of them.
    const RunStatus status = read_run_status(o.run_dir);
    if (!state.total_steps) state.total_steps = spec_total_steps(o.run_dir);
    const auto records = follower.poll();
    if (follower.restarted()) state.reset();
    for (const auto& r : records) state.add(r);
    const bool ended = run_ended(o.run_dir, status);
    if (ended) state.status = to_string(status);
    if (first || !records.empty() || ended) {
      view.width = terminal ? terminal_width() : 80;
      const std::string frame = render_frame(state, view);
      if (terminal) out << in_place(frame);
      else out << (first ? "" : "\n") << frame;
      out.flush();
      first = false;
    }
    if (ended) return 0;
    // Sleep in slices so Ctrl-C (SIGINT) ends the view promptly; the run itself is not touched.
    using Clock = std::chrono::steady_clock;
    const auto wake = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.interval_s));
    for (auto now = Clock::now(); now < wake; now = Clock::now()) {
      if (StopSignals::requested()) return 0;
      std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(50), wake - now));
    }
  }
}

}  // namespace entropix::runlog
