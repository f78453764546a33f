#pragma once
// anon_vma and anon_vma_chain: how an anonymous folio finds every VMA that may map it.
// A VMA links to the anon_vma of every ancestor it was forked from (one chain entry
// each); an anon folio points at one anon_vma, whose interval tree yields the VMAs.

#include "impl/kernel.hpp"

namespace impl {

// Gives the VMA an anon_vma before its first anon page: a neighbour's, when the
// neighbour could later merge with it, or a fresh root.
void anon_vma_prepare(Kernel& k, Vma* vma);

// Links `dst` to every anon_vma `src` links to. A `dst` without an anon_vma of its own
// (fork) adopts one of them that no VMA uses any more and that has at most one child:
// the reuse rule that keeps anon_vma chains short in long fork chains. A `dst` that has
// one (split, merge) counts as one more VMA using it.
void anon_vma_clone(Kernel& k, Vma* dst, Vma* src);

// fork: the child's VMA gets the parent's chain plus an anon_vma of its own (or a
// reused one).
void anon_vma_fork(Kernel& k, Vma* vma, Vma* pvma);

// Unlinks every chain entry of the VMA and frees anon_vmas nobody uses any more.
void unlink_anon_vmas(Kernel& k, Vma* vma);

// Around a change of a VMA's start, end or pgoff: its chain entries leave and rejoin
// their trees, since the interval they are keyed by changes.
void anon_vma_pre_update(Kernel& k, Vma* vma);
void anon_vma_post_update(Kernel& k, Vma* vma);

// anon_vma->refcount: a reference keeps the anon_vma (not its tree's VMAs) alive, as
// migration holds one between unmapping a folio and mapping it back. The last put frees
// it, and its root's reference with it.
void get_anon_vma(Kernel& k, AnonVma* av);
// atomic_inc_not_zero: false for an anon_vma already on its way to being freed.
bool anon_vma_get_unless_zero(Kernel& k, AnonVma* av);
void put_anon_vma(Kernel& k, AnonVma* av);

}  // namespace impl
