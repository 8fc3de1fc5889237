#include <iostream>

#include "cli_checks.h"
#include "commands.h"
#include "entropix/data/prepare.h"

namespace entropix::cli {

void add_prepare_command(CLI::App& app, Context& ctx) {
  struct Args {
    std::vector<std::string> sources;
    std::string out;
    double val_fraction = 0.05;
    bool overwrite = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("prepare", "build a byte-level token corpus (train.tok, val.tok, meta.json)");
  cmd->add_option("SOURCE", args->sources, "pystdlib (the CPython standard library installed here), or text files / folders")
      ->required();
  cmd->add_option("--out", args->out, "output directory")->required();
  cmd->add_option("--val-fraction", args->val_fraction,
                  "share of files held out for validation, 0 < F < 1 (default 0.05; docs/data.md)")
      ->check(number_strictly_between(0.0, 1.0));
  cmd->add_flag("--overwrite", args->overwrite, "replace an existing corpus in --out");
  cmd->callback([args] {
    PrepareOptions options;
    options.pystdlib = args->sources.size() == 1 && args->sources[0] == "pystdlib";
    if (!options.pystdlib)
      for (const auto& s : args->sources) {
        check_prepare_source(s);
        options.sources.emplace_back(s);
      }
    options.out = args->out;
    options.val_fraction = args->val_fraction;
    options.overwrite = args->overwrite;
    PrepareResult r = prepare_corpus(options);
    std::cout << "prepared " << r.source << ": " << r.file_count << " files, " << r.train_tokens << " train and "
              << r.val_tokens << " val tokens (byte-level, vocab 256), hash " << r.hash << " -> " << args->out << "\n";
  });
}

}  // namespace entropix::cli
