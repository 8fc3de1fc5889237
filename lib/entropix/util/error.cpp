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

std::string one_line(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) {
      out += c;  // printable ASCII and every byte of UTF-8 text
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 15];
    }
  }
  return out;
}

namespace {
std::vector<std::string> one_line_each(std::vector<std::string> problems) {
  for (auto& p : problems) p = one_line(p);
  return problems;
}
}  // namespace

InputError::InputError(std::string problem) : InputError(std::vector<std::string>{std::move(problem)}) {}

// Problems quote what the user wrote (keys, values, paths), which may hold a newline or another
// control character; escaped here, every problem stays the one line the CLI contract promises.
InputError::InputError(std::vector<std::string> problems)
    : std::runtime_error(join_lines(one_line_each(problems))), problems_(one_line_each(std::move(problems))) {}

}  // namespace entropix
