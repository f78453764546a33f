// Every question the kernel answers with a reverse map or a counter, the model answers
// by looking at every process and every page. Slow on purpose: obviously right.

#include <algorithm>

#include "model/state.hpp"

namespace model {

bool Attrs::same_flags(const Attrs& n) const {
  return prot == n.prot && shared == n.shared && backing == n.backing && object == n.object &&
         locked == n.locked && dontfork == n.dontfork && wipeonfork == n.wipeonfork &&
         mergeable == n.mergeable && hugepage == n.hugepage && nohugepage == n.nohugepage &&
         account == n.account;
}

bool Attrs::continues_with(const Attrs& n) const {
  return vma == n.vma && pgoff + 1 == n.pgoff;
}

State::State(const ops::Limits& l, System::Options o) : limits(l), options(o) {
  procs[1] = Process{};
  files.resize(limits.files);
  for (unsigned f = 0; f < limits.files; ++f) {
    files[f].size = limits.initial_file_pages;
    for (uint64_t p = 0; p < limits.initial_file_pages; ++p)
      files[f].disk[p] = ops::file_initial_value(f, p);
  }
}

Process* State::proc(Pid pid) {
  auto it = procs.find(pid);
  return it == procs.end() ? nullptr : &it->second;
}

Page* State::page(Pid pid, Vpn vpn) {
  Process* p = proc(pid);
  if (!p) return nullptr;
  auto it = p->pages.find(vpn);
  return it == p->pages.end() ? nullptr : &it->second;
}

void State::begin_op() {
  ran_out_of_frames = false;
  op_first_frame = next_frame;
  op_touched.clear();
}

FrameId State::alloc_frame(ops::FrameKind kind, uint64_t value) {
  FrameId id = next_frame++;
  Frame& f = frames[id];
  f.kind = kind;
  f.value = value;
  return id;
}

std::optional<FrameId> frame_held_by_fault(const State& s, ops::PageKey at) {
  auto p = s.procs.find(at.first);
  if (p == s.procs.end()) return std::nullopt;
  auto page = p->second.pages.find(at.second);
  if (page == p->second.pages.end() || !page->second.pte) return std::nullopt;
  const Pte& pte = *page->second.pte;
  if (pte.kind == Pte::Kind::present) return pte.frame;
  if (pte.kind == Pte::Kind::swap)
    for (const auto& [id, f] : s.frames)
      if (f.swapcache == pte.slot) return id;
  return std::nullopt;
}

std::vector<ops::PageKey> mappers(const State& s, FrameId frame) {
  std::vector<ops::PageKey> out;
  for (const auto& [pid, proc] : s.procs)
    for (const auto& [vpn, page] : proc.pages)
      if (page.pte && page.pte->kind == Pte::Kind::present && page.pte->frame == frame)
        out.emplace_back(pid, vpn);
  return out;
}

bool slot_referenced_elsewhere(const State& s, SlotId slot, Pid pid, Vpn vpn) {
  for (const auto& [p, proc] : s.procs)
    for (const auto& [v, page] : proc.pages)
      if (page.pte && page.pte->kind == Pte::Kind::swap && page.pte->slot == slot &&
          !(p == pid && v == vpn))
        return true;
  return false;
}

bool frame_pinned(const State& s, FrameId frame) {
  return std::any_of(s.pins.begin(), s.pins.end(),
                     [&](const auto& kv) { return kv.second.frame == frame; });
}

std::vector<FrameId> folio_frames(const State& s, FrameId frame) {
  uint64_t folio = s.frames.at(frame).folio;
  if (folio == 0) return {frame};
  std::vector<FrameId> out;
  for (const auto& [id, f] : s.frames)
    if (f.folio == folio) out.push_back(id);
  return out;
}

bool folio_pinned(const State& s, FrameId frame) {
  for (FrameId f : folio_frames(s, frame))
    if (frame_pinned(s, f)) return true;
  return false;
}

bool frame_mlocked(const State& s, FrameId frame) {
  for (auto [pid, vpn] : mappers(s, frame))
    if (s.procs.at(pid).pages.at(vpn).attrs.locked) return true;
  return false;
}

bool folio_mlocked(const State& s, FrameId frame) {
  for (FrameId member : folio_frames(s, frame))
    if (frame_mlocked(s, member)) return true;
  return false;
}

std::vector<Extent> extents(const Process& proc) {
  std::vector<Extent> out;
  const Page* prev = nullptr;
  Vpn prev_vpn = 0;
  for (const auto& [vpn, page] : proc.pages) {
    if (prev && prev_vpn + 1 == vpn && prev->attrs.continues_with(page.attrs))
      out.back().end = vpn + 1;
    else
      out.push_back({vpn, vpn + 1});
    prev = &page;
    prev_vpn = vpn;
  }
  return out;
}

namespace {

// Whether the page at `next` continues the VMA of the page at `prev` (adjacent entries).
bool same_vma(const std::pair<Vpn, Page>& prev, const std::pair<Vpn, Page>& next) {
  return prev.first + 1 == next.first && prev.second.attrs.continues_with(next.second.attrs);
}

}  // namespace

// The same extent extents() would give, found by looking only at its own pages.
std::optional<Extent> extent_at(const Process& proc, Vpn vpn) {
  auto it = proc.pages.find(vpn);
  if (it == proc.pages.end()) return std::nullopt;
  auto first = it, last = it;
  while (first != proc.pages.begin() && same_vma(*std::prev(first), *first)) --first;
  while (std::next(last) != proc.pages.end() && same_vma(*last, *std::next(last))) ++last;
  return Extent{first->first, last->first + 1};
}

bool fits_limits(const State& s, const Process& proc) {
  return extents(proc).size() <= s.limits.max_vmas && proc.pages.size() <= s.limits.max_pages;
}

}  // namespace model
