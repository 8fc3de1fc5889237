#include "entropix/data/jsonl_source.h"

#include <nlohmann/json.hpp>

#include "entropix/util/error.h"

namespace entropix {

bool jsonl_document(std::string_view line, const std::string& field, const std::string& file, size_t line_no,
                    std::string& document) {
  if (line.find_first_not_of(" \t\r\n") == std::string_view::npos) return false;
  const std::string where = file + ":" + std::to_string(line_no) + ": ";
  nlohmann::json obj;
  try {
    obj = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
    throw InputError(where + "not valid JSON (" + std::string(e.what()) + "); JSONL has one JSON object per line");
  }
  if (!obj.is_object())
    throw InputError(where + "expected a JSON object with a string field \"" + field + "\", found a " + obj.type_name());
  const auto it = obj.find(field);
  if (it == obj.end()) {
    std::string fields;
    size_t shown = 0;
    for (auto f = obj.begin(); f != obj.end() && shown < 10; ++f, ++shown) fields += (shown ? ", " : "") + f.key();
    throw InputError(where + "no field \"" + field + "\" (the object has: " + (fields.empty() ? "no fields" : fields) +
                     "); choose one with --field");
  }
  if (!it->is_string())
    throw InputError(where + "field \"" + field + "\" is a " + it->type_name() + ", expected a string");
  document = it->get<std::string>();
  return true;
}

}  // namespace entropix
