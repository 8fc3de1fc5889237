// A top-level field of a log record (docs/log-schema.json): each record type lists its fields,
// and a test holds the schema to those lists, so the schema and the writers cannot drift apart.
#pragma once
#include <string>

namespace entropix {

struct RecordField {
  std::string name;
  bool required = true;  // false: present only in some records (the schema does not require it)
};

}  // namespace entropix
