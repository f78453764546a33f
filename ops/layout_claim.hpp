#pragma once
// A trace's claim about a process's VMA layout, checked where it stands in the trace:
//
//   # layout 1 = [0x100,0x108) [0x108,0x110)
//   # layout 2 = none
//
// (a comment-only line; the extents in address order). `rmapcheck replay` checks it
// against the model, whose layout is compared with the implementation's after every op
// and with the kernel's by the oracle: a claim in a regression trace holds on all three.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ops/observation.hpp"
#include "ops/types.hpp"

namespace ops {

struct LayoutClaim {
  Pid pid = 0;
  std::vector<std::pair<Vpn, Vpn>> extents;  // [start, end), in order
  bool operator==(const LayoutClaim&) const = default;
};

// The claim a comment makes, nothing if the comment is another kind ("# layout" starts
// a claim). Throws ParseError (line `line`) for a claim that does not parse.
std::optional<LayoutClaim> parse_layout_claim(std::string_view comment, int line);

// "[0x100,0x108) [0x108,0x110)", or "none": the extents of `pid` among `vmas`.
std::string layout_text(const std::vector<VmaObs>& vmas, Pid pid);
std::string layout_text(const LayoutClaim& claim);
// Whether `vmas` has exactly the claimed extents for the claim's process.
bool layout_holds(const LayoutClaim& claim, const std::vector<VmaObs>& vmas);

}  // namespace ops
