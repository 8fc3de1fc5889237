// JSONL input for `prepare --field NAME`: one JSON object per line, the document is the string
// value of one field.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace entropix {

// The document on line `line_no` of `file`, or false for a blank (empty or all-whitespace) line.
// InputError "<file>:<line>: ..." for a line that is not a JSON object, lacks the field (the
// message lists the fields it has), or whose field is not a string.
bool jsonl_document(std::string_view line, const std::string& field, const std::string& file, size_t line_no,
                    std::string& document);

}  // namespace entropix
