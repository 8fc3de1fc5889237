#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "entropix/export/loaded_model.h"
#include "entropix/export/sampling.h"
#include "entropix/export/text_codec.h"
#include "entropix/train/setup.h"

namespace entropix::cli {

void add_sample_command(CLI::App& app, Context& ctx) {
  struct Args {
    std::string target, prompt, device = "cpu";
    SampleOptions options;
    bool seed_given = false;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("sample", "continue a prompt with a trained model");
  cmd->add_option("RUN_DIR_OR_CHECKPOINT", args->target, "a run directory (its newest complete checkpoint) or a step-*.ckpt file")
      ->required();
  cmd->add_option("--prompt", args->prompt, "the text to continue")->required();
  cmd->add_option("--tokens", args->options.tokens, "new tokens to draw")->required();
  cmd->add_option("--temperature", args->options.temperature, "divide the logits by T (default 1; 0: greedy)");
  cmd->add_option("--top-k", args->options.top_k, "draw from the K most likely tokens (default 0: all; 1: greedy)");
  auto* seed = cmd->add_option("--seed", args->options.seed, "seed of the draws (default: the spec's seed)");
  cmd->add_option("--device", args->device, "auto | cpu | cuda (default cpu)")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_flag("--json", args->json, "print one JSON object: prompt and new token ids, the continuation's text");
  cmd->callback([args, seed] {
    LoadedModel m = load_trained_model(args->target, resolve_device(args->device));
    const auto codec = text_codec_for(m.spec);
    SampleOptions o = args->options;
    if (seed->count() == 0) o.seed = m.spec.seed;
    const std::vector<int64_t> prompt = codec->encode(args->prompt);
    check_sample_options(o, prompt, m.spec.model.vocab_size);
    const std::vector<int64_t> added = sample_tokens(m.model, prompt, o);
    const std::string text = codec->decode(added);
    if (args->json) {
      const nlohmann::json j = {{"checkpoint", m.checkpoint.string()}, {"step", m.meta.step},
                                {"seed", o.seed},  {"temperature", o.temperature},
                                {"top_k", o.top_k}, {"prompt_tokens", prompt},
                                {"tokens", added},  {"text", text}};
      // A byte vocabulary can produce invalid UTF-8: replaced by U+FFFD in JSON (the ids are exact).
      std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      std::cout << args->prompt << text << "\n";
    }
  });
}

}  // namespace entropix::cli
