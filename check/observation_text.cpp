// Printing an Observation for people: pages as ranges per process, then the frame
// classes, then the swap classes.

#include "check/observation_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>

#include "ops/number_text.hpp"
#include "ops/types.hpp"

namespace check {

namespace {

// Class texts longer than this do not widen the column for everyone else.
constexpr size_t max_aligned_class_width = 48;

// Whether page `next` continues the run that `prev` ends: same process, next vpn, the
// same attributes with the offset one page further for file and shmem.
bool continues(const ops::PageObs& prev, const ops::PageObs& next) {
  if (next.pid != prev.pid || next.vpn != prev.vpn + 1) return false;
  ops::VmaAttrs expected = prev.vma;
  if (expected.kind != ops::MapKind::anon) ++expected.pgoff;
  return next.vma == expected;
}

// One line of the pages section: pages [first, last) of the canonical page list.
struct PageRun {
  size_t first, last;
};

std::string range_text(const std::vector<ops::PageObs>& pages, const PageRun& run) {
  std::string s = ops::hex_text(pages[run.first].vpn);
  if (run.last - run.first > 1) (s += '-') += ops::hex_text(pages[run.last - 1].vpn);
  return s;
}

// "present", "present present zero none", "present×8 none×248".
std::string states_text(const std::vector<ops::PageObs>& pages, const PageRun& run) {
  bool uniform =
      std::all_of(pages.begin() + ptrdiff_t(run.first), pages.begin() + ptrdiff_t(run.last),
                  [&](const ops::PageObs& p) { return p.state == pages[run.first].state; });
  if (uniform) return std::string(pte_state_name(pages[run.first].state));
  std::string s;
  for (size_t i = run.first; i < run.last;) {
    size_t j = i;
    while (j < run.last && pages[j].state == pages[i].state) ++j;
    std::string_view name = pte_state_name(pages[i].state);
    size_t n = j - i;
    if (n >= 3) {
      s += fmt::format("{}{}×{}", s.empty() ? "" : " ", name, n);
    } else {
      for (size_t k = 0; k < n; ++k) s += fmt::format("{}{}", s.empty() ? "" : " ", name);
    }
    i = j;
  }
  return s;
}

bool vma_starts_at(const std::vector<ops::VmaObs>& vmas, const ops::PageObs& page) {
  return std::any_of(vmas.begin(), vmas.end(),
                     [&](const ops::VmaObs& v) { return v.pid == page.pid && v.start == page.vpn; });
}

// Runs of pages alike, each inside one VMA.
std::vector<PageRun> page_runs(const std::vector<ops::PageObs>& pages, const std::vector<ops::VmaObs>& vmas) {
  std::vector<PageRun> runs;
  for (size_t i = 0; i < pages.size(); ++i) {
    if (runs.empty() || !continues(pages[i - 1], pages[i]) || vma_starts_at(vmas, pages[i])) runs.push_back({i, i});
    runs.back().last = i + 1;
  }
  return runs;
}

// "  VMAs [0x100,0x102) own, [0x102,0x104)" under a process's heading.
std::string vmas_text(const std::vector<ops::VmaObs>& vmas, ops::Pid pid) {
  std::string s;
  for (const ops::VmaObs& v : vmas) {
    if (v.pid != pid) continue;
    s += fmt::format("{}[{},{})", s.empty() ? "  VMAs " : ", ", ops::hex_text(v.start), ops::hex_text(v.end));
    if (v.anon_vma) s += v.forked ? " anon_vma forked" : " anon_vma";
  }
  return s.empty() ? s : s + "\n";
}

void append_pages(const std::vector<ops::PageObs>& pages, const std::vector<ops::VmaObs>& vmas, std::string& out) {
  std::vector<PageRun> runs = page_runs(pages, vmas);
  size_t range_width = 0, attrs_width = 0;
  for (const PageRun& r : runs) {
    range_width = std::max(range_width, range_text(pages, r).size());
    attrs_width = std::max(attrs_width, vma_attrs_text(pages[r.first].vma).size());
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    const PageRun& r = runs[i];
    ops::Pid pid = pages[r.first].pid;
    if (i == 0 || pages[runs[i - 1].first].pid != pid) out += fmt::format("process {}\n", pid) + vmas_text(vmas, pid);
    out += fmt::format("  {:<{}} {:<{}}  {}\n", range_text(pages, r), range_width,
                       vma_attrs_text(pages[r.first].vma), attrs_width, states_text(pages, r));
  }
}

void append_frames(const std::vector<ops::FrameClass>& frames, std::string& out) {
  size_t width = 0;
  for (const ops::FrameClass& c : frames) {
    size_t w = class_text(c.pages).size();
    if (w <= max_aligned_class_width) width = std::max(width, w);
  }
  out += "frames\n";
  for (const ops::FrameClass& c : frames) {
    out += fmt::format("  {:<{}}  {}\n", class_text(c.pages), width, frame_attrs_text(c));
  }
}

void append_swap(const std::vector<ops::SwapClass>& swap, std::string& out) {
  out += "swap\n";
  for (const ops::SwapClass& c : swap) out += "  " + class_text(c.pages) + "\n";
}

}  // namespace

std::string page_key_text(ops::PageKey key) {
  return fmt::format("({},{})", key.first, ops::hex_text(key.second));
}

std::string class_text(const std::vector<ops::PageKey>& pages) {
  std::string s = "{";
  for (size_t i = 0; i < pages.size(); ++i) {
    if (i) s += ',';
    s += page_key_text(pages[i]);
  }
  return s += '}';
}

std::string_view pte_state_name(ops::PteState state) {
  switch (state) {
    case ops::PteState::none:
      return "none";
    case ops::PteState::zero:
      return "zero";
    case ops::PteState::present:
      return "present";
    case ops::PteState::swapped:
      return "swapped";
  }
  return "?";
}

std::string_view frame_kind_name(ops::FrameKind kind) {
  switch (kind) {
    case ops::FrameKind::anon:
      return "anon";
    case ops::FrameKind::file:
      return "file";
    case ops::FrameKind::shmem:
      return "shmem";
    case ops::FrameKind::ksm:
      return "ksm";
  }
  return "?";
}

std::string backing_text(const ops::VmaAttrs& attrs) {
  switch (attrs.kind) {
    case ops::MapKind::anon:
      return "anon";
    case ops::MapKind::file:
      return fmt::format("file:{}", attrs.file);
    case ops::MapKind::shmem:
      return "shmem";
  }
  return "?";
}

std::string vma_attrs_text(const ops::VmaAttrs& attrs) {
  std::string s = backing_text(attrs);
  if (attrs.kind != ops::MapKind::anon) s += fmt::format("@{}", attrs.pgoff);
  s += attrs.shared ? " shared " : " private ";
  s += ops::prot_name(attrs.prot);
  if (attrs.locked) s += " locked";
  if (attrs.dontfork) s += " dontfork";
  if (attrs.wipeonfork) s += " wipeonfork";
  if (attrs.mergeable) s += " mergeable";
  if (attrs.hugepage) s += " hugepage";
  if (attrs.nohugepage) s += " nohugepage";
  if (attrs.account) s += " account";
  return s;
}

std::string frame_attrs_text(const ops::FrameClass& frame) {
  std::string s = fmt::format("{} value {} mapcount {}", frame_kind_name(frame.kind), frame.value,
                              frame.mapcount);
  if (frame.pmd_mapped) s += " pmd";
  if (frame.folio) s += fmt::format(" folio#{}", frame.folio);
  if (frame.mlocked) s += " mlocked";
  if (frame.pins) s += fmt::format(" pins {}", frame.pins);
  return s;
}

std::string observation_text(const ops::Observation& obs) {
  ops::Observation canon = obs;
  ops::canonicalize(canon);
  std::string out;
  if (!canon.pages.empty()) append_pages(canon.pages, canon.vmas, out);
  if (!canon.frames.empty()) append_frames(canon.frames, out);
  if (!canon.swap.empty()) append_swap(canon.swap, out);
  if (out.empty()) out = "no mapped pages\n";
  return out;
}

}  // namespace check
