#include <iostream>

#include "cli_checks.h"
#include "commands.h"
#include "entropix/report/report.h"

namespace entropix::cli {

void add_report_command(CLI::App& app, Context& ctx) {
  struct Args {
    std::vector<std::string> runs;
    std::string out;
    int64_t step = -1;
    bool overwrite = false;
    std::string group_by;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("report", "SVG figures and a self-contained index.html of one run or several");
  cmd->add_option("RUN_DIR", args->runs, "run directories written by entropix run (side by side, in this order)")
      ->required();
  cmd->add_option("--out", args->out, "output directory for index.html and the .svg figures")->required();
  cmd->add_option("--step", args->step, "draw the entropy records of this step (default: each run's last)")
      ->check(integer_at_least(0));
  cmd->add_flag("--overwrite", args->overwrite, "replace a report already in the output directory");
  cmd->add_option("--group-by", args->group_by,
                  "group runs whose specs differ only in this key (e.g. seed): curves as mean +/- std");
  cmd->callback([args] {
    check_output_directory(args->out, "--out");  // exit 2 before any work (docs/reliability.md)
    report::ReportOptions options;
    for (const auto& r : args->runs) options.run_dirs.emplace_back(r);
    options.out_dir = args->out;
    if (args->step >= 0) options.step = args->step;
    options.overwrite = args->overwrite;
    options.group_by = args->group_by;
    const auto files = report::write_report(options);
    std::cout << "report: " << files.back().string() << " (" << files.size() - 1 << " figures, "
              << options.run_dirs.size() << (options.run_dirs.size() == 1 ? " run" : " runs") << ")\n";
  });
}

}  // namespace entropix::cli
