#include <unistd.h>

#include <iostream>

#include "commands.h"
#include "entropix/runlog/watch.h"

namespace entropix::cli {

void add_watch_command(CLI::App& app, Context& ctx) {
  auto options = std::make_shared<runlog::WatchOptions>();
  auto run_dir = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("watch", "live terminal view of a run: loss sparkline, throughput, ETA, headwise entropy");
  cmd->add_option("RUN_DIR", *run_dir, "run directory (in progress or finished)")->required();
  cmd->add_option("--interval", options->interval_s, "seconds between reads of metrics.jsonl (default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--color", options->colour, "auto (colour on a terminal), never, 256 or truecolor")
      ->check(CLI::IsMember({"auto", "never", "256", "truecolor"}));
  cmd->callback([options, run_dir, &ctx] {
    options->run_dir = *run_dir;
    ctx.exit_code = runlog::watch(*options, std::cout, ::isatty(STDOUT_FILENO) == 1);
  });
}

}  // namespace entropix::cli
