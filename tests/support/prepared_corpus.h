// Reading what `entropix prepare` writes, independently of lib/entropix/data: the token files as
// documented in docs/data.md, the split rule, and a small GPT-2-style vocabulary for tests that
// need a BPE without the reference Python.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace entropix::test {

// The tokens of an entropix .tok (checking magic and header count) or a headerless nanoGPT .bin.
std::vector<uint16_t> read_tokens_raw(const std::filesystem::path& file);

// The documented split rule: FNV-1a-64(key) % 10000 < val_fraction * 10000.
bool key_goes_to_val(const std::string& key, double val_fraction);

// Writes <dir>/vocab.json and <dir>/merges.txt: the 256 bytes in GPT-2's printable alphabet, a few
// merges ("Ġ t", "h e", "Ġt he", "i n", "Ġ a") and <|endoftext|> as the last id (261).
void write_tiny_gpt2_vocab(const std::filesystem::path& dir);

}  // namespace entropix::test
