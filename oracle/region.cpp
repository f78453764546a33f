#include "oracle/region.hpp"

#include <fmt/format.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "oracle/processes.hpp"

namespace oracle {

Region::Region(uint64_t pages, uint64_t align_pages) : pages_(pages) {
  const uint64_t align = align_pages * page_size, size = pages * page_size;
  void* p = mmap(nullptr, size + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw OracleError(fmt::format("cannot reserve the region: {}", std::strerror(errno)));
  const uint64_t start = reinterpret_cast<uint64_t>(p);
  base_ = (start + align - 1) & ~(align - 1);
  if (base_ > start) munmap(p, base_ - start);
  if (const uint64_t tail = start + size + align - (base_ + size); tail > 0)
    munmap(reinterpret_cast<void*>(base_ + size), tail);
}

Region::~Region() { munmap(reinterpret_cast<void*>(base_), pages_ * page_size); }

void Region::empty_in_child(void* region) {
  const Region* r = static_cast<const Region*>(region);
  munmap(reinterpret_cast<void*>(r->base_), r->pages_ * page_size);
}

}  // namespace oracle
