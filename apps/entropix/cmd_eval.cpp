#include <iostream>

#include "cli_checks.h"
#include "commands.h"
#include "entropix/train/checkpoint_eval.h"

namespace entropix::cli {

void add_eval_command(CLI::App& app, Context& ctx) {
  struct Args {
    std::string target, device;
    std::vector<std::string> sets;
    int64_t batches = 0;
    bool json = false;
    bool full = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("eval", "validation loss and attention entropy of a saved checkpoint");
  cmd->add_option("RUN_DIR_OR_CHECKPOINT", args->target,
                  "a run directory (its newest complete checkpoint) or a step-*.ckpt file")
      ->required();
  cmd->add_option("--set", args->sets, "override a key of the checkpoint's spec; not model.* (repeatable)");
  cmd->add_option("--batches", args->batches, "validation batches (default: train.eval_batches)")
      ->check(integer_at_least(1));
  cmd->add_option("--device", args->device, "auto | cpu | cuda (overrides train.device)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_flag("--full", args->full,
                "also the perplexity over every non-overlapping T-token window of the validation split, in order");
  cmd->add_flag("--json", args->json, "print one JSON object instead of a report");
  cmd->callback([args] {
    EvalOptions options;
    options.overrides = args->sets;
    options.batches = args->batches;
    options.device = args->device;
    options.full = args->full;
    const EvalResult result = evaluate_checkpoint(args->target, options);
    if (args->json) std::cout << to_json(result).dump() << "\n";
    else std::cout << eval_report(result);
  });
}

}  // namespace entropix::cli
