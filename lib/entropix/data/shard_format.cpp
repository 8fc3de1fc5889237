#include "entropix/data/shard_format.h"

#include <cstring>
#include <limits>

#include "entropix/util/error.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'E', 'N', 'T', 'R', 'O', 'P', 'I', 'X'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kTokenBytes = 2;
constexpr uint64_t kLlmcHeader = 256 * 4;
constexpr uint32_t kLlmcMagic = 20240520;
constexpr uint32_t kLlmcVersion = 1;

uint64_t get_le(const unsigned char* p, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

void put_le(std::string& out, size_t at, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[at + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

// Shows found magic bytes readably: printable ASCII as is, the rest as \xNN.
std::string show_bytes(const unsigned char* p, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < n; ++i) {
    if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') {
      out += static_cast<char>(p[i]);
    } else {
      out += "\\x";
      out += kHex[p[i] >> 4];
      out += kHex[p[i] & 0xf];
    }
  }
  return out + "\"";
}

// "header says N tokens, so the file should be S bytes, but it is F bytes".
std::string size_mismatch(const fs::path& path, uint64_t header_bytes, uint64_t n_tokens, uint64_t file_size) {
  const bool fits = n_tokens <= (std::numeric_limits<uint64_t>::max() - header_bytes) / 2;
  const std::string expected = fits ? std::to_string(header_bytes + 2 * n_tokens) : "more than 2^64";
  return path.string() + ": header says " + std::to_string(n_tokens) + " tokens, so the file should be " + expected +
         " bytes, but it is " + std::to_string(file_size) + " bytes; the file is truncated or corrupt (re-create it)";
}

ShardLayout parse_entropix(const unsigned char* h, uint64_t size, const fs::path& path) {
  const std::string where = path.string() + ": ";
  // The magic is checked before the size, so a short headerless file also gets the nanoGPT hint.
  if (size >= sizeof(kMagic) && std::memcmp(h, kMagic, sizeof(kMagic)) != 0) {
    throw InputError(where + "bad magic: expected \"ENTROPIX\" in bytes 0..7, found " + show_bytes(h, 8) +
                     "; not an entropix token file (for a headerless nanoGPT .bin use format \"nanogpt\", for an "
                     "llm.c shard \"llmc\")");
  }
  if (size < kEntropixHeaderBytes) {
    throw InputError(where + "file is " + std::to_string(size) +
                     " bytes, shorter than the 32-byte entropix token file header");
  }
  const auto version = static_cast<uint32_t>(get_le(h + 8, 4));
  const auto vocab = static_cast<uint32_t>(get_le(h + 12, 4));
  const uint64_t n_tokens = get_le(h + 16, 8);
  const auto token_bytes = static_cast<uint32_t>(get_le(h + 24, 4));
  if (version != kVersion)
    throw InputError(where + "unsupported token file version " + std::to_string(version) +
                     "; this build reads version " + std::to_string(kVersion));
  if (token_bytes != kTokenBytes)
    throw InputError(where + "token_bytes is " + std::to_string(token_bytes) +
                     "; only 2-byte (uint16) tokens are supported");
  if (vocab == 0 || vocab > kMaxTokenVocab)
    throw InputError(where + "header vocab_size is " + std::to_string(vocab) + "; expected 1..65536 for 2-byte tokens");
  if (n_tokens == 0) throw InputError(where + "header says 0 tokens; a token file must hold at least one token");
  const uint64_t body = size - kEntropixHeaderBytes;
  if (body % 2 != 0 || body / 2 != n_tokens) throw InputError(size_mismatch(path, kEntropixHeaderBytes, n_tokens, size));
  return {kEntropixHeaderBytes, n_tokens, vocab};
}

ShardLayout parse_nanogpt(uint64_t size, const fs::path& path) {
  if (size % 2 != 0)
    throw InputError(path.string() + ": file is " + std::to_string(size) +
                     " bytes, an odd count; a nanoGPT .bin holds 2-byte tokens so its size must be even");
  return {0, size / 2, 0};
}

ShardLayout parse_llmc(const unsigned char* h, uint64_t size, const fs::path& path) {
  const std::string where = path.string() + ": ";
  // The magic first (when there are 4 bytes), so an entropix or headerless file gets its hint.
  const auto magic = size >= 4 ? static_cast<uint32_t>(get_le(h, 4)) : 0;
  if (magic != kLlmcMagic) {
    std::string hint = size >= sizeof(kMagic) && std::memcmp(h, kMagic, sizeof(kMagic)) == 0 ? " (this is an entropix token file: use format \"entropix\")"
                                                                    : " (for a headerless nanoGPT .bin use format \"nanogpt\")";
    throw InputError(where + "bad llm.c magic: expected 20240520 in int32 0, found " + std::to_string(magic) +
                     "; not an llm.c token shard" + hint);
  }
  if (size < kLlmcHeader)
    throw InputError(where + "file is " + std::to_string(size) +
                     " bytes, shorter than the 1024-byte llm.c header (256 int32); the shard is truncated");
  const auto version = static_cast<uint32_t>(get_le(h + 4, 4));
  const auto count = static_cast<int32_t>(get_le(h + 8, 4));
  if (version != kLlmcVersion)
    throw InputError(where + "llm.c shard version is " + std::to_string(version) +
                     "; expected 1 (uint16 GPT-2 tokens; version 2 shards hold uint32 tokens, which entropix does not read)");
  if (count <= 0)
    throw InputError(where + "llm.c header token count (int32 2) is " + std::to_string(count) +
                     "; expected at least 1");
  const uint64_t n = static_cast<uint64_t>(count);
  if (size != kLlmcHeader + 2 * n) throw InputError(size_mismatch(path, kLlmcHeader, n, size));
  return {kLlmcHeader, n, 0};
}

}  // namespace

void check_format_name(const std::string& format, const fs::path& path) {
  if (format != "entropix" && format != "nanogpt" && format != "llmc")
    throw InputError(path.string() + ": unknown data format \"" + format +
                     "\"; valid formats are \"entropix\", \"nanogpt\" and \"llmc\"");
}

std::string shard_extension(const std::string& format) { return format == "entropix" ? ".tok" : ".bin"; }

ShardLayout parse_shard_header(const unsigned char* head, uint64_t size, const std::string& format,
                               const fs::path& path) {
  check_format_name(format, path);
  if (size == 0) {
    const char* what = format == "entropix" ? "an entropix token file with a 32-byte header"
                       : format == "nanogpt" ? "a nanoGPT .bin of uint16 tokens"
                                             : "an llm.c shard with a 1024-byte header";
    throw InputError(path.string() + ": file is empty (expected " + what + ")");
  }
  if (format == "entropix") return parse_entropix(head, size, path);
  if (format == "nanogpt") return parse_nanogpt(size, path);
  return parse_llmc(head, size, path);
}

std::string entropix_header(uint32_t vocab_size, uint64_t n_tokens) {
  std::string out(kEntropixHeaderBytes, '\0');
  std::memcpy(out.data(), kMagic, sizeof(kMagic));
  put_le(out, 8, kVersion, 4);
  put_le(out, 12, vocab_size, 4);
  put_le(out, 16, n_tokens, 8);
  put_le(out, 24, kTokenBytes, 4);
  put_le(out, 28, 0, 4);  // reserved
  return out;
}

}  // namespace entropix
