// Errors and the process exit codes they map to (contract: see docs/cli.md).
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace entropix {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,     // anything unexpected
  kExitBadInput = 2,    // CLI, spec, data or checkpoint problems
  kExitDiverged = 3,    // training produced NaN/Inf; logs are intact
  kExitInterrupted = 4, // stopped by a signal after a checkpoint was written
};

// Bad input from the user: a spec, a data file, a command-line value.
// Holds one or more problems; each is printed as one line ("error: ..."): control characters in
// a problem (a newline inside a quoted YAML key, say) are escaped as one_line does.
// Each problem should name the file, key and line:column where known and say what would be valid.
class InputError : public std::runtime_error {
 public:
  explicit InputError(std::string problem);
  explicit InputError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// `text` with its control characters written out: newline, carriage return and tab as \n, \r,
// \t, the other bytes below 0x20 and 0x7f as \xNN. Everything else, UTF-8 included, is kept.
std::string one_line(const std::string& text);

// Joins problems into the one-line-per-problem message printed by the CLI.
std::string join_lines(const std::vector<std::string>& lines);

}  // namespace entropix
