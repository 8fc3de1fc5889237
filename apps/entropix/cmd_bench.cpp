#include <iostream>

#include "commands.h"
#include "entropix/bench/bench.h"
#include "entropix/spec/spec.h"
#include "entropix/model/registry.h"

namespace entropix::cli {

void add_bench_command(CLI::App& app, Context& ctx) {
  struct Args {
    std::string spec, device, profile;
    std::vector<std::string> sets;
    BenchOptions options;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("bench", "time training steps: tokens/s, ms/step, FLOP/s, MFU, peak memory, entropy overhead");
  cmd->add_option("SPEC", args->spec, "experiment spec (YAML)")->required();
  cmd->add_option("--set", args->sets, "override a spec key: --set train.batch_size=8 (repeatable)");
  cmd->add_option("--steps", args->options.steps, "measured steps of each kind (default 20)");
  cmd->add_option("--warmup", args->options.warmup, "untimed steps of each kind first (default 3)");
  cmd->add_option("--device", args->device, "auto | cpu | cuda (overrides train.device)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--data", args->options.data, "synthetic (random tokens, default) | spec (the spec's training data)")
      ->check(CLI::IsMember({"synthetic", "spec"}));
  cmd->add_option("--entropy", args->options.entropy,
                  "entropy measurement timed against plain steps: step (from the training forward, default) | "
                  "forward (an extra no-grad forward, as run's log.entropy_split train/val) | none")
      ->check(CLI::IsMember({"step", "forward", "none"}));
  cmd->add_option("--peak-size", args->options.peak_size, "n of the n x n x n matmul that measures the peak (default 2048)");
  cmd->add_option("--peak-repeats", args->options.peak_repeats, "timed peak matmuls; the best counts (default 5)");
  cmd->add_option("--profile", args->profile, "write a Chrome trace (chrome://tracing) of 2 extra plain steps to this file");
  cmd->add_flag("--json", args->json, "print the result as JSON (fields: docs/performance.md)");
  cmd->callback([args, &ctx] {
    ExperimentSpec spec = load_spec(args->spec, args->sets);
    BenchOptions options = args->options;
    options.device = args->device;
    options.profile = args->profile;
    options.command_line = ctx.command_line;
    options.progress = [](const std::string& line) { std::cerr << line << std::endl; };
    const nlohmann::json result = run_bench(spec, options);
    if (args->json) std::cout << result.dump(2) << "\n";
    else std::cout << bench_text(result);
  });
}

}  // namespace entropix::cli
