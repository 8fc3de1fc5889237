// One function per subcommand: binds CLI11 options to library calls. Logic lives in lib/.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace entropix::cli {

// Shared state between main() and the subcommand callbacks.
struct Context {
  std::string command_line;  // the full command line, shell-quoted, for provenance
  int exit_code = 0;
  std::vector<std::string> argv;  // the command line as given (run --nproc restarts it per rank)
};

void add_run_command(CLI::App& app, Context& ctx);
void add_validate_command(CLI::App& app, Context& ctx);
void add_describe_command(CLI::App& app, Context& ctx);
void add_list_command(CLI::App& app, Context& ctx);
void add_prepare_command(CLI::App& app, Context& ctx);
void add_eval_command(CLI::App& app, Context& ctx);
void add_cost_command(CLI::App& app, Context& ctx);
void add_report_command(CLI::App& app, Context& ctx);
void add_sweep_command(CLI::App& app, Context& ctx);
void add_bench_command(CLI::App& app, Context& ctx);
void add_export_command(CLI::App& app, Context& ctx);
void add_sample_command(CLI::App& app, Context& ctx);
void add_logs_command(CLI::App& app, Context& ctx);   // cmd_logs.cpp
void add_watch_command(CLI::App& app, Context& ctx);  // cmd_watch.cpp

// Whether argv names a command that trains or times training steps: run, bench, eval. The
// process-wide settings for training (below, and malloc's in main.cpp) apply to these only.
bool runs_training_steps(int argc, char** argv);

// Starts the process again with OMP_WAIT_POLICY=PASSIVE and a GOMP_SPINCOUNT chosen from the
// CPUs' load where that matters (openmp_wait.cpp).
void reexec_with_openmp_wait_settings(int argc, char** argv);

}  // namespace entropix::cli
