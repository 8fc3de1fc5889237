#include <iostream>

#include "cli_checks.h"
#include "commands.h"
#include "entropix/runlog/export.h"

namespace entropix::cli {

void add_logs_command(CLI::App& app, Context&) {
  auto options = std::make_shared<runlog::ExportOptions>();
  auto run_dir = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("logs", "export a run's metrics.jsonl as CSV tables or TensorBoard event files");
  cmd->add_option("RUN_DIR", *run_dir, "run directory written by entropix run (finished or in progress)")->required();
  cmd->add_option("--format", options->format, "csv (one file per record kind) or tensorboard (an event file)")
      ->required()
      ->check(CLI::IsMember({"csv", "tensorboard"}));
  cmd->add_option("--out", *out, "output directory (must not exist or be empty, unless --overwrite)")->required();
  cmd->add_flag("--overwrite", options->overwrite, "replace an earlier export in the output directory");
  cmd->callback([options, run_dir, out] {
    check_output_directory(*out, "--out");  // exit 2 before any work (docs/reliability.md)
    options->run_dir = *run_dir;
    options->out_dir = *out;
    const auto result = runlog::export_logs(*options);
    std::cout << "logs: " << result.records << " records -> " << result.files.size() << " file"
              << (result.files.size() == 1 ? "" : "s") << " in " << *out << "\n";
    for (const auto& f : result.files) std::cout << "  " << f.string() << "\n";
  });
}

}  // namespace entropix::cli
