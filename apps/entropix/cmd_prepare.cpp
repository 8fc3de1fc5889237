#include <unistd.h>

#include <iostream>

#include "cli_checks.h"
#include "commands.h"
#include "entropix/data/prepare.h"

namespace entropix::cli {

void add_prepare_command(CLI::App& app, Context& ctx) {
  struct Args {
    std::vector<std::string> sources;
    std::string out, field, tokenizer = "byte", vocab, merges, model, format = "entropix";
    uint32_t vocab_size = 0;
    int threads = 1;
    double val_fraction = 0.05;
    bool overwrite = false, progress = false, quiet = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("prepare", "build a token corpus (train.tok, val.tok, meta.json) from text or JSONL");
  cmd->add_option("SOURCE", args->sources,
                  "pystdlib (the CPython standard library installed here), or text files / folders (JSONL with --field)")
      ->required();
  cmd->add_option("--out", args->out, "output directory")->required();
  cmd->add_option("--val-fraction", args->val_fraction,
                  "share of documents held out for validation, 0 < F < 1 (default 0.05; docs/data.md)")
      ->check(number_strictly_between(0.0, 1.0));
  cmd->add_flag("--overwrite", args->overwrite, "replace an existing corpus in --out");
  cmd->add_option("--field", args->field, "read the inputs as JSONL: one document per line, this field's string");
  cmd->add_option("--tokenizer", args->tokenizer, "byte (default), gpt2-bpe or sentencepiece")
      ->check(CLI::IsMember({"byte", "gpt2-bpe", "sentencepiece"}));
  cmd->add_option("--vocab", args->vocab, "gpt2-bpe: vocab.json");
  cmd->add_option("--merges", args->merges, "gpt2-bpe: merges.txt");
  cmd->add_option("--model", args->model, "sentencepiece: apply this .model file");
  cmd->add_option("--vocab-size", args->vocab_size, "sentencepiece: train a model of this many pieces on the corpus")
      ->check(CLI::Range(1u, 65536u));
  cmd->add_option("--format", args->format, "entropix (train.tok, val.tok; default) or nanogpt (train.bin, val.bin)")
      ->check(CLI::IsMember({"entropix", "nanogpt"}));
  cmd->add_option("--threads", args->threads, "encoding threads (the output is the same for any number)")
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--progress", args->progress, "progress lines on stderr even when it is not a terminal");
  cmd->add_flag("--quiet", args->quiet, "no progress lines");
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
    options.jsonl_field = args->field;
    options.tokenizer = args->tokenizer;
    options.vocab = args->vocab;
    options.merges = args->merges;
    options.sp_model = args->model;
    options.sp_vocab_size = args->vocab_size;
    options.format = args->format;
    options.threads = args->threads;
    options.progress = !args->quiet && (args->progress || ::isatty(2) == 1);
    PrepareResult r = prepare_corpus(options);
    const double mb = r.input_bytes / 1e6;
    std::cout << "prepared " << r.source << ": " << r.file_count << " files, " << r.documents << " documents, "
              << r.train_tokens << " train and " << r.val_tokens << " val tokens (" << r.tokenizer << ", vocab "
              << r.vocab_size << "), " << mb << " MB in " << r.seconds << " s (" << (r.seconds > 0 ? mb / r.seconds : 0)
              << " MB/s, " << args->threads << " thread" << (args->threads == 1 ? "" : "s") << "), hash " << r.hash
              << " -> " << args->out << "\n";
  });
}

}  // namespace entropix::cli
