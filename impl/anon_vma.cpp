#include "impl/anon_vma.hpp"

namespace impl {
namespace {

AnonVma* anon_vma_alloc(Kernel& k) {
  AnonVma* av = k.anon_vmas.alloc();
  av->refcount = 1;
  av->root = av;
  av->parent = av;
  return av;
}

void put_anon_vma(Kernel& k, AnonVma* av) {
  if (--av->refcount > 0) return;
  AnonVma* root = av->root;
  k.anon_vmas.free(av);
  if (root != av && --root->refcount == 0) k.anon_vmas.free(root);
}

// An anon_vma's tree of chains changes only under its root's rwsem, held for writing.
void assert_tree_locked(Kernel& k, const AnonVma* av, std::string_view where) {
  k.locks.assert_held(av->root->rwsem, LockMode::write, where);
}

void chain_link(Kernel& k, Vma* vma, AnonVma* av) {
  assert_tree_locked(k, av, "anon_vma_chain_link");
  AnonVmaChain* avc = k.avcs.alloc();
  avc->vma = vma;
  avc->anon_vma = av;
  vma->anon_vma_chain.push_back(avc);
  av->rb_root.insert(*avc);
}

// A neighbour's anon_vma can be shared when the two VMAs could merge apart from it,
// and the neighbour was not forked (its chain has that one entry).
AnonVma* reusable_anon_vma(const Vma* old, const Vma* a, const Vma* b) {
  bool compatible = a->end == b->start && a->file == b->file &&
                    !((a->flags ^ b->flags) & ~VM_ACCESS_FLAGS) && b->pgoff == a->pgoff + a->pages();
  if (compatible && old->anon_vma && old->anon_vma_chain.size() == 1) return old->anon_vma;
  return nullptr;
}

AnonVma* find_mergeable_anon_vma(Vma* vma) {
  const auto& mt = vma->mm->mm_mt;
  auto it = mt.find(vma->start);
  if (auto next = std::next(it); next != mt.end())
    if (AnonVma* av = reusable_anon_vma(next->second, vma, next->second)) return av;
  if (it != mt.begin())
    if (AnonVma* av = reusable_anon_vma(std::prev(it)->second, std::prev(it)->second, vma)) return av;
  return nullptr;
}

}  // namespace

void anon_vma_prepare(Kernel& k, Vma* vma) {
  if (vma->anon_vma) return;
  AnonVma* av = find_mergeable_anon_vma(vma);
  if (!av) {
    av = anon_vma_alloc(k);
    av->num_children++;  // a root is its own parent
  }
  LockGuard g(k.locks, av->root->rwsem, LockMode::write);
  vma->anon_vma = av;
  chain_link(k, vma, av);
  av->num_active_vmas++;
}

void anon_vma_clone(Kernel& k, Vma* dst, Vma* src) {
  if (src->anon_vma_chain.empty()) return;
  LockGuard g(k.locks, src->anon_vma_chain.front()->anon_vma->root->rwsem, LockMode::write);
  bool reused = false;
  for (AnonVmaChain* pavc : src->anon_vma_chain) {
    AnonVma* av = pavc->anon_vma;
    chain_link(k, dst, av);
    // A root is never reused: it is its own parent and has at least one child.
    if (!dst->anon_vma && src->anon_vma && av->num_children < 2 && av->num_active_vmas == 0) {
      dst->anon_vma = av;
      reused = true;
    }
  }
  if (dst->anon_vma && !(reused && k.bugs.anon_vma_reuse_uncounted)) dst->anon_vma->num_active_vmas++;
}

void anon_vma_fork(Kernel& k, Vma* vma, Vma* pvma) {
  vma->anon_vma_chain.clear();
  vma->anon_vma = nullptr;
  if (!pvma->anon_vma) return;
  anon_vma_clone(k, vma, pvma);
  if (vma->anon_vma) return;
  AnonVma* av = anon_vma_alloc(k);
  av->num_active_vmas++;
  av->root = pvma->anon_vma->root;
  av->parent = pvma->anon_vma;
  av->root->refcount++;
  vma->anon_vma = av;
  LockGuard g(k.locks, av->root->rwsem, LockMode::write);
  chain_link(k, vma, av);
  av->parent->num_children++;
}

void unlink_anon_vmas(Kernel& k, Vma* vma) {
  if (vma->anon_vma_chain.empty()) return;
  std::vector<AnonVma*> emptied;
  {
    LockGuard g(k.locks, vma->anon_vma_chain.front()->anon_vma->root->rwsem, LockMode::write);
    for (AnonVmaChain* avc : vma->anon_vma_chain) {
      AnonVma* av = avc->anon_vma;
      assert_tree_locked(k, av, "unlink_anon_vmas");
      av->rb_root.remove(*avc);
      if (av->rb_root.empty()) {
        av->parent->num_children--;
        emptied.push_back(av);
      }
      k.avcs.free(avc);
    }
    if (vma->anon_vma) vma->anon_vma->num_active_vmas--;
    vma->anon_vma = nullptr;
  }
  vma->anon_vma_chain.clear();
  for (AnonVma* av : emptied) put_anon_vma(k, av);
}

void anon_vma_pre_update(Kernel& k, Vma* vma) {
  for (AnonVmaChain* avc : vma->anon_vma_chain) {
    assert_tree_locked(k, avc->anon_vma, "anon_vma_interval_tree_pre_update_vma");
    avc->anon_vma->rb_root.remove(*avc);
  }
}

void anon_vma_post_update(Kernel& k, Vma* vma) {
  for (AnonVmaChain* avc : vma->anon_vma_chain) {
    assert_tree_locked(k, avc->anon_vma, "anon_vma_interval_tree_post_update_vma");
    avc->anon_vma->rb_root.insert(*avc);
  }
}

}  // namespace impl
