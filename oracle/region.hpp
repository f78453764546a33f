#pragma once
// The oracle's region: one range of virtual addresses per run, aligned to the huge
// page size, standing for the trace's vpns [0, address_space). Every mapping the
// oracle makes lies inside it; nothing outside it is ever touched.
//
// The controller reserves the range (PROT_NONE, no memory) for as long as the run
// lasts, so that nothing of its own lands there; the first process empties it.

#include <cstdint>

#include "ops/types.hpp"

namespace oracle {

inline constexpr uint64_t page_size = 4096;

class Region {
 public:
  Region(uint64_t pages, uint64_t align_pages);
  ~Region();
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

  uint64_t base() const { return base_; }
  uint64_t pages() const { return pages_; }
  uint64_t addr(ops::Vpn vpn) const { return base_ + vpn * page_size; }
  ops::Vpn vpn(uint64_t addr) const { return (addr - base_) / page_size; }
  bool contains(ops::Vpn vpn, uint64_t n) const { return vpn <= pages_ && n <= pages_ - vpn; }

  // In the first process: unmaps the reservation, so the trace starts with nothing.
  static void empty_in_child(void* region);

 private:
  uint64_t base_ = 0;
  uint64_t pages_ = 0;
};

}  // namespace oracle
