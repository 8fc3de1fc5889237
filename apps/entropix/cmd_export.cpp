#include <iostream>

#include "cli_checks.h"
#include "commands.h"
#include "entropix/export/export.h"

namespace entropix::cli {

void add_export_command(CLI::App& app, Context& ctx) {
  auto options = std::make_shared<ExportOptions>();
  auto source = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("export", "write a checkpoint's weights as safetensors or a Hugging Face GPT-2 directory");
  cmd->add_option("RUN_DIR_OR_CHECKPOINT", *source, "a run directory (its newest complete checkpoint) or a step-*.ckpt file")
      ->required();
  cmd->add_option("--format", options->format, "safetensors (every parameter, any model) | hf (GPT2LMHeadModel)")
      ->required();
  cmd->add_option("--out", *out, "the directory to create")->required();
  cmd->add_flag("--overwrite", options->overwrite, "replace an earlier export in --out");
  cmd->callback([options, source, out] {
    check_output_directory(*out, "--out");  // exit 2 before any work (docs/reliability.md)
    options->source = *source;
    options->out = *out;
    const ExportResult r = export_model(*options);
    std::cout << "exported " << r.checkpoint.string() << " (step " << r.step << ") as " << options->format << ": "
              << r.tensors << " tensors -> " << options->out.string() << "\n";
  });
}

}  // namespace entropix::cli
