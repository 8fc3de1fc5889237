#include <iomanip>
#include <iostream>

#include "commands.h"
#include "entropix/model/registry.h"
#include "entropix/spec/spec.h"

namespace entropix::cli {

void add_list_command(CLI::App& app, Context& ctx) {
  auto keys = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("list", "list the layer registry (components a spec can name) or the spec keys");
  cmd->add_flag("--keys", *keys, "list every spec key with its type, default and meaning instead");
  cmd->callback([keys] {
    if (*keys) {
      for (const auto& k : spec_key_reference())
        std::cout << k.path << " (" << k.type << ", default " << (k.default_value.empty() ? "\"\"" : k.default_value)
                  << "): " << k.doc << "\n";
      return;
    }
    for (const auto& kind : registry_kinds()) {
      std::cout << kind << ":\n";
      for (const auto& e : registry_entries())
        if (e.kind == kind) std::cout << "  " << std::left << std::setw(22) << e.name << e.doc << "\n";
    }
  });
}

}  // namespace entropix::cli
