#include "impl/page_alloc.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace impl {

std::optional<uint64_t> FrameAllocator::alloc(unsigned order) {
  const uint64_t n = uint64_t{1} << order;
  for (uint64_t base = 0; base + n <= used_.size(); base += n) {
    bool all_free = true;
    for (uint64_t i = 0; i < n && all_free; ++i) all_free = !used_[base + i];
    if (!all_free) continue;
    for (uint64_t i = 0; i < n; ++i) used_[base + i] = true;
    free_ -= n;
    return base;
  }
  return std::nullopt;
}

void FrameAllocator::free(uint64_t pfn, unsigned order) {
  const uint64_t n = uint64_t{1} << order;
  for (uint64_t i = 0; i < n; ++i) {
    if (!used_.at(pfn + i)) throw std::logic_error(fmt::format("double free of frame {}", pfn + i));
    used_[pfn + i] = false;
  }
  free_ += n;
}

std::optional<std::string> FrameAllocator::verify() const {
  uint64_t free = 0;
  for (bool u : used_) free += !u;
  if (free != free_) return fmt::format("frame allocator counts {} free frames but {} are free", free_, free);
  return std::nullopt;
}

}  // namespace impl
