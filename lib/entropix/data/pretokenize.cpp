#include "entropix/data/pretokenize.h"

#include "entropix/data/unicode_tables.h"
#include "entropix/data/utf8.h"

namespace entropix {

namespace {

// \s as Oniguruma (the regex engine of `tokenizers`) reads it for UTF-8: the White_Space property.
bool is_white_space(char32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

}  // namespace

Gpt2PreTokenizer::Class Gpt2PreTokenizer::classify(char32_t cp) {
  if (cp < 0x80) {  // ASCII fast path
    if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return kLetter;
    if (cp >= '0' && cp <= '9') return kNumber;
    return is_white_space(cp) ? kSpace : kOther;
  }
  if (is_white_space(cp)) return kSpace;
  if (is_unicode_letter(cp)) return kLetter;
  if (is_unicode_number(cp)) return kNumber;
  return kOther;
}

size_t Gpt2PreTokenizer::run_end(size_t i, Class cls) const {
  while (i < cps_.size() && cps_[i].cls == cls) ++i;
  return i;
}

size_t Gpt2PreTokenizer::match_at(size_t i) const {
  const size_t n = cps_.size();
  const char32_t c = cps_[i].cp;
  // 's 't 're 've 'm 'll 'd (lower case only, as in the pattern)
  if (c == '\'' && i + 1 < n) {
    const char32_t a = cps_[i + 1].cp;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if (i + 2 < n) {
      const char32_t b = cps_[i + 2].cp;
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    }
  }
  const Class cls = cps_[i].cls;
  // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+': an optional U+0020, then a run of one class.
  if (c == ' ' && i + 1 < n && cps_[i + 1].cls != kSpace) return run_end(i + 1, cps_[i + 1].cls);
  if (cls != kSpace) return run_end(i, cls);
  // '\s+(?!\S)': the whitespace run, less its last character when a non-space follows it;
  // if that leaves nothing, '\s+' takes the (single-character) run.
  const size_t end = run_end(i, kSpace);
  if (end == n || end - i == 1) return end;
  return end - 1;
}

void Gpt2PreTokenizer::split(std::string_view text, std::vector<Piece>& out) {
  out.clear();
  cps_.clear();
  for (size_t i = 0; i < text.size();) {
    const size_t at = i;
    const char32_t cp = next_code_point(text, i);
    cps_.push_back({at, cp, classify(cp)});
  }
  const size_t n = cps_.size();
  for (size_t i = 0; i < n;) {
    const size_t j = match_at(i);
    out.emplace_back(cps_[i].offset, j < n ? cps_[j].offset : text.size());
    i = j;
  }
}

}  // namespace entropix
