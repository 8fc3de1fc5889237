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
      for (const auto& k : spec_key_reference(component_catalog()))
        std::cout << k.path << " (" << k.type << ", default " << (k.default_value.empty() ? "\"\"" : k.default_value)
                  << "): " << k.doc << "\n";
      return;
    }
    for (const auto& kind : registry_kinds()) {
      std::cout << kind << ":\n";
      for (const auto& e : registry_entries()) {
        if (e.info.kind != kind) continue;
        std::cout << "  " << std::left << std::setw(22) << e.info.name << e.info.doc << "\n";
        const std::string indent(24, ' ');
        for (const auto& o : e.info.options)
          std::cout << indent << "key model." << e.info.name << "." << o.key << " (default " << o.default_value
                    << "): " << o.doc << "\n";
        for (const auto& v : e.learned)
          std::cout << indent << "logs " << v.name << " " << v.shape << ": " << v.meaning << "\n";
      }
    }
  });
}

}  // namespace entropix::cli
