#include <iostream>

#include "commands.h"
#include "entropix/spec/spec.h"
#include "entropix/model/registry.h"

namespace entropix::cli {

void add_validate_command(CLI::App& app, Context& ctx) {
  struct Args {
    std::string spec;
    std::vector<std::string> sets;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("validate", "check a spec and print it resolved (every default filled); exit 2 on any error");
  cmd->add_option("SPEC", args->spec, "experiment spec (YAML)")->required();
  cmd->add_option("--set", args->sets, "override a spec key: --set train.steps=100 (repeatable)");
  cmd->callback([args] { std::cout << spec_to_yaml(load_spec(args->spec, args->sets)); });
}

}  // namespace entropix::cli
