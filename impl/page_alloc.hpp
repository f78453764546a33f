#pragma once
// The frame allocator: naturally aligned blocks of 2^order frames. A plain first-fit
// bitmap for now; the buddy allocator with per-CPU lists replaces it with the page
// lifecycle work.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace impl {

class FrameAllocator {
 public:
  explicit FrameAllocator(uint64_t frames) : used_(frames, false), free_(frames) {}

  std::optional<uint64_t> alloc(unsigned order);
  void free(uint64_t pfn, unsigned order);
  uint64_t free_frames() const { return free_; }
  uint64_t total() const { return used_.size(); }
  bool in_use(uint64_t pfn) const { return used_.at(pfn); }
  std::optional<std::string> verify() const;

 private:
  std::vector<bool> used_;
  uint64_t free_;
};

}  // namespace impl
