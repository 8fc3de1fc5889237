// UTF-8 decoding with the repair rule the GPT-2 tokenizer applies to invalid input.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace entropix {

// Decodes one code point of `s` at `i` and advances `i`. Each maximal ill-formed subpart (an
// invalid byte, a truncated sequence, an overlong form, a surrogate, or a value above U+10FFFF)
// is consumed as a whole and reads as U+FFFD, the rule of Python's bytes.decode("utf-8",
// errors="replace") (Unicode's "U+FFFD substitution of maximal subparts").
char32_t next_code_point(std::string_view s, size_t& i);

// Appends the UTF-8 form of `cp` (a Unicode scalar value) to `out`.
void append_utf8(std::string& out, char32_t cp);

// True when `s` is well-formed UTF-8.
bool is_valid_utf8(std::string_view s);

// `s` with every ill-formed subpart replaced by U+FFFD (as next_code_point reads it); `s` itself
// when it is already valid.
std::string repair_utf8(std::string_view s);

}  // namespace entropix
