// A private-inference cost profile: what one element of each nonlinear operation and one unit of
// linear work cost under a protocol and network, in bytes of communication and seconds of latency.
// Profiles are small YAML files (docs/cost.md); `bumblebee-wan` is built in.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace entropix {

struct UnitCost {
  double bytes = 0;    // communication, both parties together
  double seconds = 0;  // end-to-end latency
};

struct CostProfile {
  std::string name;
  std::string protocol;  // e.g. "2PC, BumbleBee (SecretFlow SPU)"
  std::string network;   // e.g. "WAN, 100 Mbit/s, 80 ms"
  std::string source;    // where the numbers come from
  std::map<std::string, UnitCost> nonlinear;  // op kind (inventory name) -> cost per element
  UnitCost mac;          // per multiply-accumulate of the blocks' linear maps
  UnitCost output;       // per element a linear map of the blocks writes (linear_inventory outputs)
  UnitCost lm_head_mac;  // per multiply-accumulate of the LM head
  std::string origin;    // file it came from, or "<name> (built in)"
  std::string nonlinear_at;  // "origin:line:column" of the nonlinear map, for messages
};

// The operation kinds a nonlinearity inventory can hold: every nonlinear op a registry entry's cost names.
std::vector<std::string> nonlinear_op_kinds();

// Parses profile YAML; InputError lists every problem (origin:line:column, key, what is valid).
// Op kinds may be missing (a profile may price only some); estimate_cost reports one a spec needs.
CostProfile parse_profile(const std::string& yaml_text, const std::string& origin);

// A built-in profile name or a profile file path. Unknown names / missing files: InputError.
CostProfile load_profile(const std::string& name_or_path);

// Built-in profiles: their names and YAML text (embedded in the binary).
std::vector<std::string> builtin_profile_names();
const std::string* builtin_profile_text(const std::string& name);  // nullptr when unknown

}  // namespace entropix
