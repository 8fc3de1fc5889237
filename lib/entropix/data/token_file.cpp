#include "entropix/data/token_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <system_error>

#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'E', 'N', 'T', 'R', 'O', 'P', 'I', 'X'};
constexpr size_t kHeaderBytes = 32;
constexpr uint32_t kVersion = 1;
constexpr uint32_t kTokenBytes = 2;
constexpr uint64_t kMaxVocab = 65536;  // every uint16 value is a valid token
constexpr bool kLittleEndianHost = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

void put_le(std::string& out, size_t at, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[at + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

uint64_t get_le(const unsigned char* p, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

// Files are little-endian; swap only on a big-endian host.
void to_host_order(std::vector<uint16_t>& tokens) {
  if constexpr (!kLittleEndianHost) {
    for (auto& t : tokens) t = static_cast<uint16_t>((t >> 8) | (t << 8));
  }
}

void encode_tokens(const std::vector<uint16_t>& tokens, char* dst) {
  if constexpr (kLittleEndianHost) {
    std::memcpy(dst, tokens.data(), tokens.size() * sizeof(uint16_t));
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) {
      dst[2 * i] = static_cast<char>(tokens[i] & 0xff);
      dst[2 * i + 1] = static_cast<char>(tokens[i] >> 8);
    }
  }
}

// Index of the first token >= vocab_size, or -1 when all are in range.
int64_t first_out_of_vocab(const std::vector<uint16_t>& tokens, uint32_t vocab_size) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] >= vocab_size) return static_cast<int64_t>(i);
  }
  return -1;
}

uint16_t max_token(const std::vector<uint16_t>& tokens) {
  uint16_t best = 0;
  for (uint16_t t : tokens) best = t > best ? t : best;
  return best;
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

// Checks the path names a readable regular file, returning its size in bytes.
// `expected` describes the wanted file for the error message.
uint64_t existing_file_size(const fs::path& path, const std::string& expected) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw InputError(path.string() + ": no such file (expected " + expected + ")");
  if (fs::is_directory(st)) throw InputError(path.string() + ": is a directory (expected " + expected + ")");
  uint64_t size = fs::file_size(path, ec);
  if (ec) throw InputError(path.string() + ": cannot read file size (" + ec.message() + ")");
  return size;
}

std::ifstream open_binary(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open file (" + std::strerror(errno) + ")");
  return in;
}

// Reads exactly n bytes; a short read means the file shrank under us.
void read_exact(std::ifstream& in, char* dst, uint64_t n, const fs::path& path) {
  in.read(dst, static_cast<std::streamsize>(n));
  if (static_cast<uint64_t>(in.gcount()) != n) {
    throw InputError(path.string() + ": file ended early (read " + std::to_string(in.gcount()) +
                     " of " + std::to_string(n) + " bytes); was it modified while being read?");
  }
}

// Reads n_tokens uint16 tokens straight into a vector (no intermediate string copy:
// nanoGPT corpora can be gigabytes).
std::vector<uint16_t> read_tokens(std::ifstream& in, uint64_t n_tokens, const fs::path& path) {
  std::vector<uint16_t> tokens(n_tokens);
  read_exact(in, reinterpret_cast<char*>(tokens.data()), n_tokens * sizeof(uint16_t), path);
  to_host_order(tokens);
  return tokens;
}

struct Header {
  uint32_t version, vocab_size, token_bytes;
  uint64_t n_tokens;
};

const char* kEntropixWhat = "an entropix token file with a 32-byte header";

// Checked before the size, so a short headerless file also gets the nanoGPT hint.
void check_magic(const unsigned char* h, const fs::path& path) {
  if (std::memcmp(h, kMagic, sizeof(kMagic)) != 0) {
    throw InputError(path.string() + ": bad magic: expected \"ENTROPIX\" in bytes 0..7, found " + show_bytes(h, 8) +
                     "; not an entropix token file (for a headerless nanoGPT .bin use format \"nanogpt\")");
  }
}

// Validates the header fields (after the magic) against each other and against the file size.
Header parse_header(const unsigned char* h, uint64_t file_size, const fs::path& path) {
  const std::string where = path.string() + ": ";
  Header hd{static_cast<uint32_t>(get_le(h + 8, 4)), static_cast<uint32_t>(get_le(h + 12, 4)),
            static_cast<uint32_t>(get_le(h + 24, 4)), get_le(h + 16, 8)};
  if (hd.version != kVersion) {
    throw InputError(where + "unsupported token file version " + std::to_string(hd.version) +
                     "; this build reads version " + std::to_string(kVersion));
  }
  if (hd.token_bytes != kTokenBytes) {
    throw InputError(where + "token_bytes is " + std::to_string(hd.token_bytes) +
                     "; only 2-byte (uint16) tokens are supported");
  }
  if (hd.vocab_size == 0 || hd.vocab_size > kMaxVocab) {
    throw InputError(where + "header vocab_size is " + std::to_string(hd.vocab_size) +
                     "; expected 1..65536 for 2-byte tokens");
  }
  if (hd.n_tokens == 0) throw InputError(where + "header says 0 tokens; a token file must hold at least one token");
  const uint64_t body = file_size - kHeaderBytes;
  if (body % 2 != 0 || body / 2 != hd.n_tokens) {
    const bool fits = hd.n_tokens <= (std::numeric_limits<uint64_t>::max() - kHeaderBytes) / 2;
    const std::string expected = fits ? std::to_string(kHeaderBytes + 2 * hd.n_tokens) : "more than 2^64";
    throw InputError(where + "header says " + std::to_string(hd.n_tokens) + " tokens, so the file should be " +
                     expected + " bytes, but it is " + std::to_string(file_size) +
                     " bytes; the file is truncated or corrupt (re-create it)");
  }
  return hd;
}

void check_vocab_size_arg(uint32_t vocab_size, const fs::path& path) {
  if (vocab_size == 0 || vocab_size > kMaxVocab) {
    throw InputError(path.string() + ": model.vocab_size is " + std::to_string(vocab_size) +
                     "; uint16 token files need a vocab_size in 1..65536");
  }
}

}  // namespace

void write_token_file(const fs::path& path, const std::vector<uint16_t>& tokens, uint32_t vocab_size) {
  if (tokens.empty()) throw std::invalid_argument("write_token_file " + path.string() + ": no tokens");
  if (vocab_size == 0 || vocab_size > kMaxVocab) {
    throw std::invalid_argument("write_token_file " + path.string() + ": vocab_size " +
                                std::to_string(vocab_size) + " is not in 1..65536");
  }
  if (int64_t bad = first_out_of_vocab(tokens, vocab_size); bad >= 0) {
    throw std::invalid_argument("write_token_file " + path.string() + ": token " + std::to_string(bad) +
                                " is " + std::to_string(tokens[bad]) + ", not below vocab_size " +
                                std::to_string(vocab_size));
  }
  std::string out(kHeaderBytes + tokens.size() * sizeof(uint16_t), '\0');
  std::memcpy(out.data(), kMagic, sizeof(kMagic));
  put_le(out, 8, kVersion, 4);
  put_le(out, 12, vocab_size, 4);
  put_le(out, 16, tokens.size(), 8);
  put_le(out, 24, kTokenBytes, 4);
  put_le(out, 28, 0, 4);  // reserved
  encode_tokens(tokens, out.data() + kHeaderBytes);
  write_file_atomic(path, out);
}

TokenData read_token_file(const fs::path& path) {
  const uint64_t size = existing_file_size(path, kEntropixWhat);
  if (size == 0) throw InputError(path.string() + ": file is empty (expected " + kEntropixWhat + ")");
  std::ifstream in = open_binary(path);
  unsigned char raw[kHeaderBytes] = {};
  read_exact(in, reinterpret_cast<char*>(raw), std::min<uint64_t>(size, kHeaderBytes), path);
  if (size >= sizeof(kMagic)) check_magic(raw, path);
  if (size < kHeaderBytes) {
    throw InputError(path.string() + ": file is " + std::to_string(size) +
                     " bytes, shorter than the 32-byte entropix token file header");
  }
  const Header hd = parse_header(raw, size, path);

  TokenData data{read_tokens(in, hd.n_tokens, path), hd.vocab_size, path.string()};
  if (int64_t bad = first_out_of_vocab(data.tokens, hd.vocab_size); bad >= 0) {
    throw InputError(path.string() + ": token " + std::to_string(bad) + " is " +
                     std::to_string(data.tokens[bad]) + " but the header's vocab_size is " +
                     std::to_string(hd.vocab_size) + "; every token must be below it (the file is corrupt)");
  }
  return data;
}

TokenData read_nanogpt_bin(const fs::path& path, uint32_t vocab_size) {
  const uint64_t size = existing_file_size(path, "a nanoGPT .bin file of uint16 tokens");
  check_vocab_size_arg(vocab_size, path);
  if (size == 0) throw InputError(path.string() + ": file is empty (expected a nanoGPT .bin of uint16 tokens)");
  if (size % 2 != 0) {
    throw InputError(path.string() + ": file is " + std::to_string(size) +
                     " bytes, an odd count; a nanoGPT .bin holds 2-byte tokens so its size must be even");
  }
  std::ifstream in = open_binary(path);
  TokenData data{read_tokens(in, size / 2, path), vocab_size, path.string()};
  if (int64_t bad = first_out_of_vocab(data.tokens, vocab_size); bad >= 0) {
    throw InputError(path.string() + ": token " + std::to_string(bad) + " (byte offset " +
                     std::to_string(2 * bad) + ") is " + std::to_string(data.tokens[bad]) +
                     ", not below vocab_size " + std::to_string(vocab_size) +
                     "; set model.vocab_size to at least " + std::to_string(max_token(data.tokens) + 1) +
                     " (50257 for GPT-2 BPE data)");
  }
  return data;
}

TokenData load_tokens(const fs::path& path, const std::string& format, uint32_t vocab_size) {
  if (format == "nanogpt") return read_nanogpt_bin(path, vocab_size);
  if (format != "entropix") {
    throw InputError(path.string() + ": unknown data format \"" + format +
                     "\"; valid formats are \"entropix\" and \"nanogpt\"");
  }
  TokenData data = read_token_file(path);
  if (vocab_size != 0 && data.vocab_size > vocab_size) {
    throw InputError(path.string() + ": tokenized with vocab_size " + std::to_string(data.vocab_size) +
                     " but model.vocab_size is " + std::to_string(vocab_size) +
                     "; set model.vocab_size to at least " + std::to_string(data.vocab_size));
  }
  return data;
}

}  // namespace entropix
