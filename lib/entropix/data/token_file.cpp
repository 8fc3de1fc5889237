#include "entropix/data/token_file.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "entropix/data/shard_format.h"
#include "entropix/data/shard_list.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

const char* expected_file(const std::string& format) {
  return format == "entropix" ? "an entropix token file with a 32-byte header"
         : format == "nanogpt" ? "a nanoGPT .bin file of uint16 tokens"
                               : "an llm.c token shard";
}

// The path names an existing non-directory (a missing file gets the "no such file" error).
void check_exists(const fs::path& path, const std::string& format) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  const std::string expected = std::string(" (expected ") + expected_file(format) + ")";
  if (!fs::exists(st)) throw InputError(path.string() + ": no such file" + expected);
  if (fs::is_directory(st)) throw InputError(path.string() + ": is a directory" + expected);
}

void check_vocab_size_arg(uint32_t vocab_size, const fs::path& path) {
  if (vocab_size == 0 || vocab_size > kMaxTokenVocab)
    throw InputError(path.string() + ": model.vocab_size is " + std::to_string(vocab_size) +
                     "; uint16 token files need a vocab_size in 1..65536");
}

// Maps and validates one shard; `header_vocab` receives the entropix header's vocabulary.
TokenShard open_shard(const fs::path& path, const std::string& format, uint32_t vocab_size, TokenCheck check,
                      uint32_t* header_vocab) {
  check_exists(path, format);
  auto file = std::make_shared<const MappedFile>(path);
  const ShardLayout layout = parse_shard_header(file->data(), file->size(), format, path);
  file->release(0, layout.token_offset);
  TokenShard shard;
  shard.path = path.string();
  shard.format = format;
  shard.size = layout.n_tokens;
  shard.offset = layout.token_offset;
  shard.file = file;
  *header_vocab = layout.header_vocab;
  if (format == "entropix" && vocab_size != 0 && layout.header_vocab > vocab_size)
    throw InputError(path.string() + ": tokenized with vocab_size " + std::to_string(layout.header_vocab) +
                     " but model.vocab_size is " + std::to_string(vocab_size) + "; set model.vocab_size to at least " +
                     std::to_string(layout.header_vocab));
  shard.bound = layout.header_vocab != 0 ? layout.header_vocab : vocab_size;
  // Deferred: a large shard without a matching sidecar is left to BackgroundTokenCheck.
  const bool defer = check == TokenCheck::deferred && file->size() >= kSidecarMinBytes;
  const std::optional<uint16_t> max = defer ? sidecar_max_token(path, format, *file)
                                            : max_token(path, format, *file, shard.offset, shard.size, check);
  shard.checked = max.has_value();
  if (max && *max >= shard.bound) throw InputError(out_of_vocab_message(shard, *max));
  file->advise_random();  // batches read short windows at random places
  return shard;
}

TokenFile to_file(const TokenData& data) { return {data.to_vector(), data.vocab_size, data.path}; }

}  // namespace

std::string out_of_vocab_message(const TokenShard& shard, uint16_t max) {
  const int64_t bad = find_first_at_least(*shard.file, shard.offset, shard.size, shard.bound);
  const uint16_t value = bad >= 0 ? shard.at(static_cast<uint64_t>(bad)) : max;
  const std::string where = shard.path + ": token " + std::to_string(bad);
  if (shard.format == "entropix")
    return where + " is " + std::to_string(value) + " but the header's vocab_size is " + std::to_string(shard.bound) +
           "; every token must be below it (the file is corrupt)";
  return where + " (byte offset " + std::to_string(shard.offset + 2 * static_cast<uint64_t>(bad)) + ") is " +
         std::to_string(value) + ", not below vocab_size " + std::to_string(shard.bound) +
         "; set model.vocab_size to at least " + std::to_string(max + 1) + " (50257 for GPT-2 BPE data)";
}

uint16_t TokenShard::at(uint64_t i) const {
  if (memory) return (*memory)[i];
  const unsigned char* p = file->data() + offset + 2 * i;
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

void TokenShard::copy(uint64_t first, uint64_t n, uint16_t* out) const {
  if (memory) {
    std::memcpy(out, memory->data() + first, n * sizeof(uint16_t));
  } else if constexpr (kLittleEndianHost) {
    std::memcpy(out, file->data() + offset + 2 * first, n * sizeof(uint16_t));
  } else {
    for (uint64_t i = 0; i < n; ++i) out[i] = at(first + i);
  }
}

void TokenShard::release(uint64_t first, uint64_t n) const {
  if (file) file->release(offset + 2 * first, 2 * n);
}

uint64_t TokenData::size() const {
  uint64_t n = 0;
  for (const auto& s : shards) n += s.size;
  return n;
}

std::vector<uint16_t> TokenData::to_vector() const {
  std::vector<uint16_t> out(size());
  uint64_t at = 0;
  for (const auto& s : shards) {
    s.copy(0, s.size, out.data() + at);
    s.release(0, s.size);
    at += s.size;
  }
  return out;
}

TokenData TokenData::in_memory(std::vector<uint16_t> tokens, uint32_t vocab_size, std::string path) {
  TokenData data;
  TokenShard shard;
  shard.path = path;
  shard.size = tokens.size();
  shard.memory = std::make_shared<const std::vector<uint16_t>>(std::move(tokens));
  data.shards.push_back(std::move(shard));
  data.vocab_size = vocab_size;
  data.path = std::move(path);
  return data;
}

void write_token_file(const fs::path& path, const std::vector<uint16_t>& tokens, uint32_t vocab_size) {
  if (tokens.empty()) throw std::invalid_argument("write_token_file " + path.string() + ": no tokens");
  if (vocab_size == 0 || vocab_size > kMaxTokenVocab)
    throw std::invalid_argument("write_token_file " + path.string() + ": vocab_size " + std::to_string(vocab_size) +
                                " is not in 1..65536");
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] >= vocab_size)
      throw std::invalid_argument("write_token_file " + path.string() + ": token " + std::to_string(i) + " is " +
                                  std::to_string(tokens[i]) + ", not below vocab_size " + std::to_string(vocab_size));
  }
  std::string out = entropix_header(vocab_size, tokens.size());
  const size_t header = out.size();
  out.resize(header + tokens.size() * sizeof(uint16_t));
  for (size_t i = 0; i < tokens.size(); ++i) {  // little-endian whatever the host
    out[header + 2 * i] = static_cast<char>(tokens[i] & 0xff);
    out[header + 2 * i + 1] = static_cast<char>(tokens[i] >> 8);
  }
  write_file_atomic(path, out);
}

TokenFile read_token_file(const fs::path& path) {
  TokenData data;
  uint32_t header_vocab = 0;
  data.shards.push_back(open_shard(path, "entropix", 0, TokenCheck::scan, &header_vocab));
  data.vocab_size = header_vocab;
  data.path = path.string();
  return to_file(data);
}

TokenFile read_nanogpt_bin(const fs::path& path, uint32_t vocab_size) {
  check_exists(path, "nanogpt");
  check_vocab_size_arg(vocab_size, path);
  TokenData data;
  uint32_t unused = 0;
  data.shards.push_back(open_shard(path, "nanogpt", vocab_size, TokenCheck::scan, &unused));
  data.vocab_size = vocab_size;
  data.path = path.string();
  return to_file(data);
}

TokenData load_tokens(const fs::path& path, const std::string& format, uint32_t vocab_size, TokenCheck check) {
  check_format_name(format, path);
  TokenData data;
  data.path = path.string();
  uint32_t largest_header_vocab = 0;
  for (const fs::path& shard_path : list_shards(path.string(), shard_extension(format))) {
    if (format != "entropix") {
      check_exists(shard_path, format);
      check_vocab_size_arg(vocab_size, shard_path);
    }
    uint32_t header_vocab = 0;
    data.shards.push_back(open_shard(shard_path, format, vocab_size, check, &header_vocab));
    largest_header_vocab = std::max(largest_header_vocab, header_vocab);
  }
  data.vocab_size = format == "entropix" ? largest_header_vocab : vocab_size;
  return data;
}

}  // namespace entropix
