#include "oracle/kernel_view.hpp"

#include <fmt/format.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "oracle/procfs.hpp"

namespace oracle {
namespace {

using ops::FrameKind;
using ops::PageKey;
using ops::PteState;

bool zero_visible(const Capabilities& caps) { return caps.pagemap_scan || caps.frames(); }

ops::VmaAttrs attrs_of(const KernelVma& v, const Files& files, uint64_t page_in_vma) {
  ops::VmaAttrs a;
  a.prot = ops::Prot((v.read ? ops::prot_read : 0) | (v.write ? ops::prot_write : 0) | (v.exec ? ops::prot_exec : 0));
  a.shared = v.shared;
  if (auto f = files.file_of(v.dev, v.inode)) {
    a.kind = ops::MapKind::file;
    a.file = *f;
  } else if (v.inode != 0 && v.shared) {
    a.kind = ops::MapKind::shmem;  // MAP_SHARED | MAP_ANONYMOUS: "/dev/zero (deleted)"
  } else if (v.inode != 0) {
    throw OracleError(fmt::format("a mapping of a file the oracle did not make: {}", v.path));
  }
  if (a.kind != ops::MapKind::anon) a.pgoff = v.offset / page_size + page_in_vma;
  a.locked = v.has_flag("lo");
  a.dontfork = v.has_flag("dc");
  a.wipeonfork = v.has_flag("wf");
  a.mergeable = v.has_flag("mg");
  a.hugepage = v.has_flag("hg");
  a.nohugepage = v.has_flag("nh");
  a.account = v.has_flag("ac");
  return a;
}

// A present page whose frame counts (not the zero page).
struct Mapped {
  PageKey key;
  uint64_t addr;
  uint64_t frame;  // PFN, or a number of our own
  bool huge;
  ops::MapKind vma_kind;
};

class Builder {
 public:
  Builder(Processes& procs, const Region& region, const Files& files, const Capabilities& caps)
      : procs_(procs), region_(region), files_(files), caps_(caps) {}

  KernelView build() {
    for (const auto& [pid, real] : procs_.real_pids()) add_process(pid, real);
    read_values();
    add_frame_classes();
    add_swap_classes();
    ops::canonicalize(view_.obs);
    return std::move(view_);
  }

 private:
  void add_process(ops::Pid pid, pid_t real) {
    const uint64_t lo = region_.base(), hi = region_.addr(region_.pages());
    auto& extents = view_.layout[pid];
    for (const KernelVma& v : read_vmas(real, lo, hi)) {
      if (v.start < lo || v.end > hi)
        throw OracleError(fmt::format("process {} has a mapping reaching out of the region", real));
      extents.emplace_back(region_.vpn(v.start), region_.vpn(v.end));
      // /proc shows no anon_vma: the oracle compares extents only (see comparable()).
      view_.obs.vmas.push_back({pid, region_.vpn(v.start), region_.vpn(v.end), false, false});
      add_vma(pid, real, v);
    }
    if (extents.empty()) view_.layout.erase(pid);
  }

  void add_vma(ops::Pid pid, pid_t real, const KernelVma& v) {
    const uint64_t n = (v.end - v.start) / page_size;
    const auto entries = read_pagemap(real, v.start, n);
    std::optional<std::vector<uint64_t>> categories;
    if (caps_.pagemap_scan) categories = scan_categories(real, v.start, n);
    for (uint64_t i = 0; i < n; ++i) {
      const ops::Vpn vpn = region_.vpn(v.start) + i;
      ops::PageObs page{pid, vpn, attrs_of(v, files_, i), PteState::none};
      if (page.vma.locked) locked_.insert({pid, vpn});
      const PagemapEntry e = entries[i];
      const uint64_t cat = categories ? (*categories)[i] : 0;
      if (e.present()) {
        page.state = is_zero(e, cat) ? PteState::zero : PteState::present;
        if (page.state == PteState::present || !zero_visible(caps_))
          mapped_.push_back({{pid, vpn}, v.start + i * page_size, frame_number(e), (cat & category_huge) != 0,
                             page.vma.kind});
      } else if (e.swapped()) {
        page.state = PteState::swapped;
        swapped_.emplace_back(PageKey{pid, vpn}, caps_.frames() ? e.swap_entry() : next_own_++);
      }
      view_.obs.pages.push_back(page);
    }
  }

  bool is_zero(PagemapEntry e, uint64_t cat) const {
    if (caps_.pagemap_scan) return cat & category_pfnzero;
    return caps_.frames() && has(kpage_.flags(e.pfn()), kpf_zero_page);
  }

  uint64_t frame_number(PagemapEntry e) { return caps_.frames() ? e.pfn() : next_own_++; }

  // Each process reads its own pages, in batches.
  void read_values() {
    std::map<ops::Pid, std::vector<size_t>> by_pid;
    for (size_t i = 0; i < mapped_.size(); ++i) by_pid[mapped_[i].key.first].push_back(i);
    values_.resize(mapped_.size());
    for (const auto& [pid, indices] : by_pid)
      for (size_t from = 0; from < indices.size(); from += peek_batch) {
        Request req;
        req.command = Command::peek;
        req.n = unsigned(std::min<size_t>(peek_batch, indices.size() - from));
        for (unsigned j = 0; j < req.n; ++j) req.batch[j] = mapped_[indices[from + j]].addr;
        const Reply reply = procs_.call(pid, req);
        for (unsigned j = 0; j < req.n; ++j) {
          if (!reply.ok[j]) throw OracleError(fmt::format("pid {} cannot read its page {:#x}", pid, req.batch[j]));
          values_[indices[from + j]] = reply.batch[j];
        }
      }
  }

  void add_frame_classes() {
    std::map<uint64_t, ops::FrameClass> by_frame;
    std::map<uint64_t, unsigned> folio_labels;
    for (size_t i = 0; i < mapped_.size(); ++i) {
      const Mapped& m = mapped_[i];
      auto [it, fresh] = by_frame.try_emplace(m.frame);
      ops::FrameClass& c = it->second;
      c.pages.push_back(m.key);
      c.pmd_mapped |= m.huge;
      if (!fresh) {
        if (c.value != values_[i])
          throw OracleError(fmt::format("pages of one frame read {} and {}", c.value, values_[i]));
        continue;
      }
      c.value = values_[i];
      if (!caps_.frames()) continue;
      const uint64_t flags = kpage_.flags(m.frame);
      c.kind = has(flags, kpf_ksm)    ? FrameKind::ksm
               : has(flags, kpf_anon) ? FrameKind::anon
               : m.vma_kind == ops::MapKind::shmem ? FrameKind::shmem
                                                   : FrameKind::file;
      c.mapcount = unsigned(kpage_.count(m.frame));
      c.mlocked = has(flags, kpf_mlocked);
      if (has(flags, kpf_compound_head) || has(flags, kpf_compound_tail)) {
        const uint64_t head = kpage_.head(m.frame);
        c.folio = folio_labels.try_emplace(head, unsigned(folio_labels.size() + 1)).first->second;
      }
    }
    for (auto& [frame, c] : by_frame) {
      // PG_mlocked of a small folio is lazy in the kernel: a munlock and an mlock of the
      // page in one call (mmap over a locked mapping of it) can leave it clear under a
      // VM_LOCKED VMA, and MREMAP_DONTUNMAP clears VM_LOCKED without munlocking what
      // stays mapped, leaving it set. Reclaim goes by the VMAs (it mlocks or munlocks
      // what it meets), so a small folio counts as mlocked when a locked VMA maps it.
      if (c.folio == 0 && caps_.frames()) {
        c.mlocked = false;
        for (const PageKey& k : c.pages) c.mlocked |= locked_.count(k) > 0;
      }
      view_.obs.frames.push_back(std::move(c));
    }
  }

  void add_swap_classes() {
    std::map<uint64_t, ops::SwapClass> by_entry;
    for (const auto& [key, entry] : swapped_) by_entry[entry].pages.push_back(key);
    for (auto& [entry, c] : by_entry) view_.obs.swap.push_back(std::move(c));
  }

  Processes& procs_;
  const Region& region_;
  const Files& files_;
  const Capabilities& caps_;
  KpageFiles kpage_;
  KernelView view_;
  std::vector<Mapped> mapped_;
  std::vector<uint64_t> values_;
  std::vector<std::pair<PageKey, uint64_t>> swapped_;
  std::set<PageKey> locked_;  // pages in VM_LOCKED VMAs
  uint64_t next_own_ = 1;
};

// The kernel batches LRU additions and mlock/munlock per CPU and applies them later: a
// page munlocked a moment ago may still show PG_mlocked, a page faulted in may not be on
// an LRU list yet (so MADV_PAGEOUT would pass it over). move_pages(2) drains every CPU's
// batches before it starts (lru_cache_disable), even for no pages at all: after it the
// flags say what the mm state says.
void drain_cpu_batches() {
  int node = 0, status = 0;
  void* pages[1] = {nullptr};
  syscall(SYS_move_pages, 0, 0, pages, &node, &status, 2 /* MPOL_MF_MOVE */);
}

}  // namespace

KernelView observe_kernel(Processes& procs, const Region& region, const Files& files, const Capabilities& caps) {
  drain_cpu_batches();
  return Builder(procs, region, files, caps).build();
}

ops::Observation comparable(const ops::Observation& obs, const Capabilities& caps) {
  ops::Observation out = obs;
  for (ops::VmaObs& v : out.vmas) v.anon_vma = v.forked = false;  // not in /proc
  if (!zero_visible(caps)) {
    for (ops::PageObs& p : out.pages)
      if (p.state == PteState::zero) {
        p.state = PteState::present;
        ops::FrameClass c;
        c.pages = {{p.pid, p.vpn}};
        out.frames.push_back(c);
      }
  }
  if (!caps.pagemap_scan)
    for (ops::FrameClass& c : out.frames) c.pmd_mapped = false;
  if (!caps.frames()) {
    std::vector<ops::FrameClass> singles;
    for (const ops::FrameClass& c : out.frames)
      for (const PageKey& k : c.pages) {
        ops::FrameClass one;
        one.pages = {k};
        one.value = c.value;
        one.pmd_mapped = c.pmd_mapped;
        singles.push_back(one);
      }
    out.frames = std::move(singles);
    std::vector<ops::SwapClass> swap;
    for (const ops::SwapClass& c : out.swap)
      for (const PageKey& k : c.pages) swap.push_back({{k}});
    out.swap = std::move(swap);
  }
  ops::canonicalize(out);
  return out;
}

}  // namespace oracle
