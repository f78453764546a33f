#pragma once
// Test support: drives an impl::Kernel through the op language and reads its VMA
// layout back, the way the kernel's tools/testing/vma tests read theirs.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "impl/kernel.hpp"
#include "ops/trace.hpp"

namespace impl_world {

struct VmaView {
  ops::Vpn start, end;
  uint64_t pgoff;
  const impl::AnonVma* anon_vma;
  size_t chain;  // anon_vma_chain length
};

class World {
 public:
  explicit World(ops::Limits limits = {}) : kernel_(limits) {}

  // Applies every op of `trace` (trace text); each must not fail with an errno.
  void run(const std::string& trace) {
    for (const ops::Op& op : ops::parse_trace(trace).ops()) {
      ops::Result r = kernel_.apply(op);
      EXPECT_NE(r.kind, ops::Result::Kind::error) << ops::print_op(op) << " -> " << ops::result_text(r);
    }
    auto broken = kernel_.check_invariants();
    EXPECT_TRUE(broken.empty()) << ::testing::PrintToString(broken);
  }

  std::vector<VmaView> vmas(ops::Pid pid) {
    std::vector<VmaView> out;
    for (const auto& [start, v] : kernel_.tasks.at(pid)->mm_mt)
      out.push_back({v->start, v->end, v->pgoff, v->anon_vma, v->anon_vma_chain.size()});
    return out;
  }

  // "[0x100,0x108) [0x108,0x10c)": the layout, for exact comparison.
  std::string layout(ops::Pid pid) {
    std::string s;
    for (const VmaView& v : vmas(pid)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s[%#llx,%#llx)", s.empty() ? "" : " ", (unsigned long long)v.start,
                    (unsigned long long)v.end);
      s += buf;
    }
    return s;
  }

  VmaView vma_at(ops::Pid pid, ops::Vpn vpn) {
    for (const VmaView& v : vmas(pid))
      if (v.start <= vpn && vpn < v.end) return v;
    ADD_FAILURE() << "no VMA at " << vpn;
    return {};
  }

  impl::Kernel& kernel() { return kernel_; }

 private:
  impl::Kernel kernel_;
};

}  // namespace impl_world
