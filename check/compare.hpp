#pragma once
// Comparing two Observations (model vs impl page tables vs impl rmap) and saying how they
// differ, one difference a line, in the words of a finding:
//
//   VMAs of pid 1: model [0x100,0x102)  impl [0x100,0x101) [0x101,0x102)
//   VMA (1,[0x100,0x102)) anon_vma: model own  impl none
//   page (2,0x101): model present  impl-rmap swapped
//   pages (1,0x104-0x107): only in model
//   page (1,0x100) prot: model rw  impl r
//   class of (1,0x101): model {(1,0x101)}  impl-rmap {(1,0x101),(2,0x101)}
//   class of (2,0x101): model no frame  impl-rmap {(1,0x101),(2,0x101)}
//   class {(1,0x103),(2,0x103)}: only in model
//   classes of (1,0x200-0x207): only in impl-rmap, one page each
//   class of (1,0x101) mapcount: model 2  impl-rmap 1
//   folio of (1,0x100): model shares with {(1,0x101),(1,0x102)}  impl small folio
//   swap of (2,0x102): model {(2,0x102),(3,0x102)}  impl {(2,0x102)}
//   … and 3 more differences
//
// Both observations are canonicalized (copies) before comparing, so neither needs to be.
// Where a line is about one page, a run of consecutive vpns of one process that differ in
// exactly the same way shares one line: "pages (1,0x100-0x103) ...", "classes of (...)".
// The lines come in this order:
// - VMAs, by pid: the extents if they differ, else each VMA whose anon_vma differs
//   (none, own, or forked: linked to a parent's anon_vmas by fork).
// - Pages, by (pid, vpn): the PTE state (no attribute name), then each VMA attribute that
//   differs (prot, sharing, backing, pgoff, locked, dontfork, wipeonfork, mergeable,
//   hugepage, nohugepage, account); or "only in X"; or "entries" when one side lists a page more often.
// - Sharing: frame classes that are not on both sides with the same pages. A class none of
//   whose pages is in a class of the other side is "only in X". Otherwise a line is keyed by
//   the first page, in order, that is in such a class and not yet shown, and gives that
//   page's class on each side ("no frame" when it is in none); the pages it shows that are
//   in a class on both sides count as shown, so a merge or split is one line, not one per
//   class, while a page in no class of one side always gets a line of its own.
// - Per-class attributes of classes with the same pages on both sides: kind, value,
//   mapcount, pmd-mapped, mlocked, pins.
// - Large folios, as a partition of those same classes (labels are arbitrary, only the
//   grouping counts): "small folio", "alone in a large folio" (no other such class shares
//   it), or "shares with {pages of the other classes in its folio}", runs of three or more
//   vpns written (1,0x201-0x207). Keyed by the first class that differs; the classes shown
//   in that line's folios get no line of their own.
// - Swap: the partition of swapped pages by slot, like sharing ("no slot", "swap slot
//   {...}: only in X").

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ops/observation.hpp"

namespace check {

// The differences between `a` and `b`, named `a_name` and `b_name` in the text ("model",
// "impl", "impl-rmap"). Empty iff a == b. At most max_lines lines, then one more line
// "… and N more differences". If the two differ only in order or folio labels (neither
// was canonical), the one line says so.
std::vector<std::string> diff(const ops::Observation& a, std::string_view a_name,
                              const ops::Observation& b, std::string_view b_name,
                              size_t max_lines = 20);

// The first line diff() would give, or nothing if a == b.
std::optional<std::string> first_difference(const ops::Observation& a, std::string_view a_name,
                                            const ops::Observation& b, std::string_view b_name);

}  // namespace check
