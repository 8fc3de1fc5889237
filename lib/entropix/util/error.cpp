#include "entropix/util/error.h"

namespace entropix {

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += '\n';
    out += lines[i];
  }
  return out;
}

InputError::InputError(std::string problem)
    : std::runtime_error(problem), problems_{std::move(problem)} {}

InputError::InputError(std::vector<std::string> problems)
    : std::runtime_error(join_lines(problems)), problems_(std::move(problems)) {}

}  // namespace entropix
