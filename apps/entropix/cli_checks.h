// Checks the command line makes before a command runs (docs/reliability.md, "Input checks"):
// CLI11 validators whose messages say the valid range plainly, the memory check, and where a run
// may be written. Every failure is one `error:` line (main.cpp prints it) and exit 2.
#pragma once
#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>

#include "entropix/spec/spec.h"

namespace entropix::cli {

// An integer option that must be >= lo (and <= hi): "must be an integer from 1 to 1024, got 0".
CLI::Validator integer_at_least(int64_t lo);
CLI::Validator integer_between(int64_t lo, int64_t hi);
// A number strictly between lo and hi: "must be a number with 0 < F < 1, got 1.5".
CLI::Validator number_strictly_between(double lo, double hi);

// `--max-memory SIZE` on `cmd`, stored as text in `target`.
void add_max_memory_option(CLI::App* cmd, std::string& target);

// Refuses (InputError) a spec whose training-memory estimate exceeds `max_memory` (when given)
// or else the memory of `device` ("" = train.device); `processes` ranks share the machine.
// Prints nothing when it fits. With `warn_only`, a device that is too small gives a `warning:`
// line instead (validate: the spec may be meant for another machine); --max-memory always refuses.
void check_training_memory(const ExperimentSpec& spec, const std::string& device, const std::string& max_memory,
                           int64_t processes = 1, bool warn_only = false);

// Refuses an output directory that cannot be created or written: its nearest existing ancestor
// must be a directory this process can write (and the directory itself, when it exists).
void check_output_directory(const std::filesystem::path& dir, const std::string& option);

// Refuses a model whose weights alone (fp32) exceed the CPU's available memory (describe builds
// it there to count parameters).
void check_model_builds_on_cpu(const ExperimentSpec& spec);

// Refuses a prepare source that is not a regular file or folder, saying what it is (a device,
// a FIFO, a symlink loop, missing).
void check_prepare_source(const std::filesystem::path& source);

}  // namespace entropix::cli
