// write(2) and ftruncate(2) on the files. A write goes into the page cache, where
// shared mappings and not-yet-COWed private mappings see it; truncation removes the
// pages past the new end from every mapping, COWed private copies included.

#include "model/state.hpp"

namespace model {

using ops::Errno;
using ops::Result;

Result do_fwrite(State& s, const ops::Fwrite& op) {
  if (op.file >= s.limits.files) return Result::fail(Errno::ebadf);
  if (op.pgoff >= s.limits.max_file_pages) return Result::fail(Errno::efbig);
  File& file = s.files[op.file];
  auto it = file.cache.find(op.pgoff);
  if (it == file.cache.end()) {
    if (s.no_free_frame()) return Result::fail(Errno::enomem);
    it = file.cache.emplace(op.pgoff, s.alloc_frame(ops::FrameKind::file, 0)).first;
  }
  Frame& f = s.frames.at(it->second);
  f.value = op.value;
  f.dirty = true;
  file.size = std::max(file.size, op.pgoff + 1);
  return Result::ok();
}

Result do_ftruncate(State& s, const ops::Ftruncate& op) {
  if (op.file >= s.limits.files) return Result::fail(Errno::ebadf);
  if (op.pages > s.limits.max_file_pages) return Result::fail(Errno::efbig);
  File& file = s.files[op.file];
  for (auto& [pid, proc] : s.procs)
    for (auto& [vpn, page] : proc.pages)
      if (page.attrs.backing == Backing::file && page.attrs.object == op.file &&
          page.attrs.pgoff >= op.pages)
        page.pte.reset();
  file.cache.erase(file.cache.lower_bound(op.pages), file.cache.end());
  file.disk.erase(file.disk.lower_bound(op.pages), file.disk.end());
  file.size = op.pages;
  return Result::ok();
}

}  // namespace model
