#include <filesystem>
#include <iostream>

#include "commands.h"
#include "entropix/picost/calibrate.h"
#include "entropix/picost/compare.h"
#include "entropix/picost/profile.h"
#include "entropix/util/error.h"

namespace entropix::cli {

void add_cost_command(CLI::App& app, Context&) {
  struct Args {
    std::vector<std::string> specs;
    std::vector<std::string> sets;
    std::string baseline;
    std::string profile = "bumblebee-wan";
    std::string calibrate;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "cost", "private-inference cost (nonlinear ops, MACs, communication, latency) of specs, with savings");
  cmd->add_option("SPEC", args->specs, "experiment specs (YAML) to price");
  cmd->add_option("--baseline", args->baseline, "spec the savings are measured against (default: the first SPEC)");
  cmd->add_option("--profile", args->profile, "built-in profile name or profile YAML file (default bumblebee-wan)");
  cmd->add_option("--set", args->sets, "override a spec key in every spec (repeatable)");
  cmd->add_flag("--json", args->json, "print JSON instead of a table");
  cmd->add_option("--calibrate", args->calibrate,
                  "fit a profile to the measured costs in this file and print it (no SPEC)");
  cmd->callback([args] {
    if (!args->calibrate.empty()) {
      if (!args->specs.empty() || !args->baseline.empty() || !args->sets.empty())
        throw InputError("cost --calibrate ROWS takes no SPEC, --baseline or --set (the rows name their specs)");
      const Calibration c = calibrate(load_calibration(args->calibrate));
      if (args->json) std::cout << calibration_json(c).dump(2) << "\n";
      else std::cout << calibration_yaml(c, std::filesystem::path(args->calibrate).filename().string());
      return;
    }
    const CostComparison c = compare_costs(args->specs, args->baseline, args->sets, load_profile(args->profile));
    if (args->json) std::cout << comparison_json(c).dump(2) << "\n";
    else std::cout << comparison_text(c);
  });
}

}  // namespace entropix::cli
