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

// yaml-cpp quotes the offending byte in some messages; a control byte must not reach the terminal.
std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c != 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Records where the second document starts, to name it in the error.
class DocumentCounter : public YAML::EventHandler {
 public:
  int documents = 0;
  YAML::Mark second;
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 2) second = mark;
  }
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
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::DeepRecursion& e) {
    throw InputError(at(origin, e.mark) + ": malformed YAML: nested " + std::to_string(e.depth()) +
                     " levels deep, more than the YAML reader allows");
  } catch (const YAML::Exception& e) {
    throw InputError(at(origin, e.mark) + ": malformed YAML: " + printable(e.msg));
  }
  if (documents.size() > 1) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentCounter counter;
    while (counter.documents < 2 && parser.HandleNextDocument(counter)) {
    }
    throw InputError(at(origin, counter.second) + ": a second YAML document ('---'); a spec is one document");
  }
  if (documents.empty()) return YAML::Node();
  TreeCheck(origin).visit(documents.front(), 0);
  return documents.front();
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
