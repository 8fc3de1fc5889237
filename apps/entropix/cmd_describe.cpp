#include <iostream>

#include "cli_checks.h"
#include "commands.h"
#include "entropix/describe/describe.h"
#include "entropix/spec/spec.h"
#include "entropix/model/registry.h"

namespace entropix::cli {

void add_describe_command(CLI::App& app, Context& ctx) {
  struct Args {
    std::string spec;
    std::vector<std::string> sets;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("describe", "per-layer architecture, parameter counts and nonlinearity inventory");
  cmd->add_option("SPEC", args->spec, "experiment spec (YAML)")->required();
  cmd->add_option("--set", args->sets, "override a spec key (repeatable)");
  cmd->add_flag("--json", args->json, "print JSON instead of a table");
  cmd->callback([args] {
    ExperimentSpec spec = load_spec(args->spec, args->sets);
    check_model_builds_on_cpu(spec);  // describe builds the model to count its parameters
    nlohmann::json d = describe_model(spec.model);
    d["name"] = spec.name;
    if (args->json) std::cout << d.dump(2) << "\n";
    else std::cout << spec.name << "\n" << describe_text(d);
  });
}

}  // namespace entropix::cli
