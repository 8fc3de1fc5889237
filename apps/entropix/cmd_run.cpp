#include "commands.h"
#include "entropix/spec/spec.h"
#include "entropix/train/trainer.h"

namespace entropix::cli {

void add_run_command(CLI::App& app, Context& ctx) {
  struct Args {
    std::string spec, out, device, resume;
    int64_t stop_after = 0;
    std::vector<std::string> sets;
    bool overwrite = false, quiet = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("run", "train the model a spec describes and write a run directory");
  cmd->add_option("SPEC", args->spec, "experiment spec (YAML)")->required();
  cmd->add_option("--set", args->sets, "override a spec key: --set train.steps=100 (repeatable)");
  cmd->add_option("--out", args->out, "run directory (default: runs/<name>)");
  cmd->add_option("--device", args->device, "auto | cpu | cuda (overrides train.device)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--resume", args->resume,
                  "auto: continue from the newest complete checkpoint in the run directory (start fresh when there is "
                  "none); PATH: continue from that checkpoint file or run directory");
  cmd->add_option("--stop-after", args->stop_after,
                  "stop after this step as a signal would (checkpoint, status interrupted, exit 4); continue with --resume")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--overwrite", args->overwrite, "replace a run already in the run directory");
  cmd->add_flag("--quiet", args->quiet, "no progress lines");
  cmd->callback([args, &ctx] {
    ExperimentSpec spec = load_spec(args->spec, args->sets);
    RunOptions options;
    options.out_dir = args->out;
    options.overwrite = args->overwrite;
    options.quiet = args->quiet;
    options.device = args->device;
    options.command_line = ctx.command_line;
    options.resume = args->resume;
    options.stop_after = args->stop_after;
    ctx.exit_code = run_experiment(spec, options).exit_code;
  });
}

}  // namespace entropix::cli
