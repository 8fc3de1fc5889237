#include <iostream>

#include "cli_checks.h"
#include "commands.h"
#include "entropix/spec/spec.h"
#include "entropix/model/registry.h"

namespace entropix::cli {

void add_validate_command(CLI::App& app, Context& ctx) {
  struct Args {
    std::string spec, max_memory;
    std::vector<std::string> sets;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("validate", "check a spec and print it resolved (every default filled); exit 2 on any error");
  cmd->add_option("SPEC", args->spec, "experiment spec (YAML)")->required();
  cmd->add_option("--set", args->sets, "override a spec key: --set train.steps=100 (repeatable)");
  add_max_memory_option(cmd, args->max_memory);
  cmd->callback([args] {
    const ExperimentSpec spec = load_spec(args->spec, args->sets);
    // --max-memory refuses; without it a machine too small for the spec only gets a warning,
    // since the spec may be meant for another one.
    check_training_memory(spec, "", args->max_memory, 1, /*warn_only=*/true);
    std::cout << spec_to_yaml(spec);
  });
}

}  // namespace entropix::cli
