#pragma once
// The bug zoo: named, injected bugs, each a runtime switch that is off by default. Tests
// turn one on to get a real finding (for the shrinker, for the checker's own tests); a
// bug here is one guarded line at the place the kernel would get it wrong.

namespace impl {

struct Bugs {
  // split_vma() gives the new VMA the old one's anon_vma but links it into no
  // anon_vma_chain, so rmap_walk can no longer reach the pages it maps.
  bool skip_anon_vma_clone_on_split = false;

  bool operator==(const Bugs&) const = default;
};

}  // namespace impl
