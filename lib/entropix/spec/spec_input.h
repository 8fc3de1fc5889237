// Reading a spec file safely: what `load_spec` (and the sweep planner) accept before any key is
// looked at, in bounded time and memory (docs/reliability.md, "Input checks"):
//   - a regular file (after symlinks) of at most kMaxSpecBytes;
//   - one YAML document; no key twice in a mapping;
//   - at most kMaxSpecNodes nodes once aliases are expanded (no alias bombs), nesting as yaml-cpp
//     bounds it (500 levels, measured with yaml-cpp 0.7).
// Every refusal is an InputError of one line, "file[:line:col]: what is wrong".
#pragma once
#include <cstdint>
#include <string>

namespace YAML { class Node; }

namespace entropix {

inline constexpr int64_t kMaxSpecBytes = 1 << 20;      // 1 MiB: specs are a few KiB
inline constexpr int64_t kMaxSpecNodes = 100000;       // nodes after alias expansion

// The text of a spec file, or InputError (missing, a directory, a device or FIFO, a symlink loop,
// unreadable, over kMaxSpecBytes).
std::string read_spec_text(const std::string& path);

// Parses `text` (named `origin` in messages) with the checks above.
YAML::Node parse_spec_yaml(const std::string& text, const std::string& origin);

// "" when `name` can name a run directory, else why not: non-empty, at most kMaxRunNameBytes
// bytes, no '/' or '\\', no NUL or control characters, not "." or "..", no "..".
inline constexpr size_t kMaxRunNameBytes = 200;
std::string run_name_problem(const std::string& name);

}  // namespace entropix
