#include "entropix/spec/spec_input.h"

#include <sys/stat.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "entropix/util/error.h"

namespace entropix {
namespace {

std::string at(const std::string& origin, const YAML::Mark& m) {
  if (m.line < 0) return origin;
  return origin + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

// yaml-cpp's messages, without the trailing spaces some end with (control bytes it quotes are
// escaped by InputError).
std::string trimmed(std::string text) {
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::string file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Where each document starts, as the parser reports them: enough to name a second document, and
// to notice yaml-cpp 0.7 (Debian 12) going round in circles. Where a block node should start and
// a ',' stands instead (a spec that is just ",", or "- a" then "," on the next line) its parser
// reports an empty document there, consumes nothing, and reports it again forever; YAML::LoadAll
// collects them until memory runs out (yaml-cpp issue 1040, fixed upstream after 0.8.0).
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  // Whether the last document started where the one before it did: the parser made no progress.
  bool stuck() const {
    const size_t n = starts.size();
    return n >= 2 && starts[n - 1].pos == starts[n - 2].pos;
  }
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Visits every node as a reader of the tree would (aliases expanded), stopping at kMaxSpecNodes,
// and reports the first key that appears twice in one mapping.
class TreeCheck {
 public:
  explicit TreeCheck(const std::string& origin) : origin_(origin) {}
  void visit(const YAML::Node& node, int depth) {
    if (++visited_ > kMaxSpecNodes)
      throw InputError(at(origin_, node.Mark()) + ": the spec expands to more than " + std::to_string(kMaxSpecNodes) +
                       " YAML nodes (aliases that repeat aliases?); a spec is a small file of keys");
    if (node.IsSequence()) {
      for (const auto& item : node) visit(item, depth + 1);
    } else if (node.IsMap()) {
      std::set<std::string> seen;
      for (const auto& item : node) {
        const std::string key = item.first.IsScalar() ? item.first.Scalar() : YAML::Dump(item.first);
        if (!seen.insert(key).second)
          throw InputError(at(origin_, item.first.Mark()) + ": duplicate key '" + key +
                           "' (it already appears earlier in this mapping; a key may appear once)");
        visit(item.first, depth + 1);
        visit(item.second, depth + 1);
      }
    }
  }

 private:
  const std::string& origin_;
  int64_t visited_ = 0;
};

}  // namespace

std::string read_spec_text(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) throw InputError(path + ": spec file not found");
    throw InputError(path + ": cannot read the spec (" + std::strerror(err) + ")");
  }
  if (S_ISDIR(st.st_mode)) throw InputError(path + ": is a directory, expected a YAML spec file");
  if (!S_ISREG(st.st_mode)) throw InputError(path + ": is " + file_kind(st.st_mode) + ", expected a YAML spec file");
  if (st.st_size > kMaxSpecBytes)
    throw InputError(path + ": " + std::to_string(st.st_size) + " bytes; a spec may have at most " +
                     std::to_string(kMaxSpecBytes) + " bytes (1 MiB)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the spec (" + std::strerror(errno) + ")");
  // Read at most one byte past the cap: the file may have grown since stat.
  std::string text(static_cast<size_t>(kMaxSpecBytes) + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (static_cast<int64_t>(text.size()) > kMaxSpecBytes)
    throw InputError(path + ": more than " + std::to_string(kMaxSpecBytes) + " bytes; a spec may have at most 1 MiB");
  return text;
}

YAML::Node parse_spec_yaml(const std::string& text, const std::string& origin) {
  YAML::Node document;
  try {
    // Events first, stopping at a second document or where the parser stops making progress;
    // only a text that is one document (or none) is built into nodes.
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentStarts documents;
    while (documents.starts.size() < 3 && !documents.stuck() && parser.HandleNextDocument(documents)) {
    }
    if (documents.stuck()) {
      const YAML::Mark& m = documents.starts.back();
      const bool comma = m.pos >= 0 && static_cast<size_t>(m.pos) < text.size() && text[static_cast<size_t>(m.pos)] == ',';
      throw InputError(at(origin, m) + ": malformed YAML: " +
                       (comma ? "',' where a value should start (',' separates items only inside [ ] or { })"
                              : "no value can start here (the YAML reader makes no progress at this point)"));
    }
    if (documents.starts.size() > 1)
      throw InputError(at(origin, documents.starts[1]) + ": a second YAML document ('---'); a spec is one document");
    document = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    throw InputError(at(origin, e.mark) + ": malformed YAML: nested " + std::to_string(e.depth()) +
                     " levels deep, more than the YAML reader allows");
  } catch (const YAML::Exception& e) {
    throw InputError(at(origin, e.mark) + ": malformed YAML: " + trimmed(e.msg));
  }
  TreeCheck(origin).visit(document, 0);
  return document;
}

std::string run_name_problem(const std::string& name) {
  const std::string rule = "; a run name is 1-" + std::to_string(kMaxRunNameBytes) +
                           " bytes without '/', '\\', '..' or control characters (it names a directory under runs/)";
  if (name.empty()) return "must not be empty" + rule;
  if (name.size() > kMaxRunNameBytes) return "has " + std::to_string(name.size()) + " bytes" + rule;
  if (name.find('/') != std::string::npos || name.find('\\') != std::string::npos)
    return "'" + name + "' contains a path separator" + rule;
  if (name == "." || name.find("..") != std::string::npos) return "'" + name + "' contains '..' or is '.'" + rule;
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) return "contains a control character" + rule;
  return "";
}

}  // namespace entropix
