#include "cli_checks.h"
#include "commands.h"
#include "entropix/dist/communicator.h"
#include "entropix/dist/local_launch.h"
#include "entropix/spec/spec.h"
#include "entropix/train/trainer.h"
#include "entropix/model/registry.h"

namespace entropix::cli {

void add_run_command(CLI::App& app, Context& ctx) {
  struct Args {
    std::string spec, out, device, resume, max_memory;
    int64_t stop_after = 0;
    int nproc = 1;
    int64_t dist_timeout = dist::kDefaultTimeoutSeconds;
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
      ->check(integer_at_least(1));
  cmd->add_option("--nproc", args->nproc,
                  "train data-parallel on N local processes (ranks) started here, each with train.batch_size rows "
                  "of every batch (docs/distributed.md)")
      ->check(integer_between(1, 1024));
  cmd->add_option("--dist-timeout", args->dist_timeout,
                  "seconds a rank of a data-parallel run waits for the others before failing (default " +
                      std::to_string(dist::kDefaultTimeoutSeconds) + ")")
      ->check(integer_at_least(1));
  cmd->add_flag("--overwrite", args->overwrite, "replace a run already in the run directory");
  cmd->add_flag("--quiet", args->quiet, "no progress lines");
  add_max_memory_option(cmd, args->max_memory);
  cmd->callback([args, &ctx] {
    ExperimentSpec spec = load_spec(args->spec, args->sets);  // a bad spec fails here, before any rank starts
    // Before anything is written: the memory the run needs, and a run directory it can write.
    check_training_memory(spec, args->device, args->max_memory, args->nproc);
    if (std::getenv("RANK") == nullptr)  // ranks of a launched job share the directory rank 0 prepares
      check_output_directory(args->out.empty() ? std::filesystem::path("runs") / spec.name : std::filesystem::path(args->out),
                             "--out");
    if (args->nproc > 1) {
      ctx.exit_code = dist::run_local_ranks(args->nproc, dist::without_nproc(ctx.argv),
                                            std::chrono::seconds(args->dist_timeout));
      return;
    }
    RunOptions options;
    options.out_dir = args->out;
    options.overwrite = args->overwrite;
    options.quiet = args->quiet;
    options.device = args->device;
    options.command_line = ctx.command_line;
    options.resume = args->resume;
    options.stop_after = args->stop_after;
    options.dist_timeout_s = args->dist_timeout;
    ctx.exit_code = run_experiment(spec, options).exit_code;
  });
}

}  // namespace entropix::cli
