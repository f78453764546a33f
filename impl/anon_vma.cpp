#include "impl/anon_vma.hpp"

#include "impl/rcu.hpp"
#include "impl/sched_point.hpp"

namespace impl {
namespace {

// An anon_vma freed longer ago than every RCU reader's section, if any (under a lock
// hook only: see Kernel::anon_vma_cache).
AnonVma* reusable_freed_anon_vma(Kernel& k) {
  auto& cache = k.anon_vma_cache;
  for (auto it = cache.begin(); it != cache.end(); ++it) {
    if (!rcu_grace_period_over(k, it->second)) continue;
    AnonVma* av = it->first;
    cache.erase(it);
    k.anon_vmas.revive(av);
    av->num_children = av->num_active_vmas = 0;
    return av;
  }
  return nullptr;
}

AnonVma* anon_vma_alloc(Kernel& k) {
  AnonVma* av = k.locks.hook() ? reusable_freed_anon_vma(k) : nullptr;
  if (!av) {
    av = k.anon_vmas.alloc();
    av->rwsem.id = lock_id(LockClass::anon_vma_rwsem, av->id);
  }
  sched_point(k, Access::write, anon_vma_id(av), "anon_vma_alloc");
  av->refcount = 1;
  av->root = av;
  av->parent = av;
  return av;
}

// The last put: the anon_vma is poisoned, and with a lock hook cached for reuse after
// an RCU grace period (SLAB_TYPESAFE_BY_RCU).
void anon_vma_free(Kernel& k, AnonVma* av) {
  sched_point(k, Access::free, anon_vma_id(av), "anon_vma_free");
  k.anon_vmas.free(av);
  if (k.locks.hook()) k.anon_vma_cache.emplace_back(av, ++k.rcu_clock);
}

}  // namespace

void get_anon_vma(Kernel& k, AnonVma* av) {
  sched_point(k, Access::write, anon_vma_id(av), "get_anon_vma");
  av->refcount++;
}

bool anon_vma_get_unless_zero(Kernel& k, AnonVma* av) {
  sched_point(k, Access::write, anon_vma_id(av), "atomic_inc_not_zero(anon_vma->refcount)");
  if (av->refcount == 0) return false;
  av->refcount++;
  return true;
}

void put_anon_vma(Kernel& k, AnonVma* av) {
  sched_point(k, Access::write, anon_vma_id(av), "put_anon_vma");
  if (--av->refcount > 0) return;
  AnonVma* root = av->root;
  anon_vma_free(k, av);
  if (root == av) return;
  sched_point(k, Access::write, anon_vma_id(root), "put_anon_vma");
  if (--root->refcount == 0) anon_vma_free(k, root);
}

namespace {

// An anon_vma's tree of chains changes only under its root's rwsem, held for writing.
void assert_tree_locked(Kernel& k, const AnonVma* av, std::string_view where) {
  k.locks.assert_held(av->root->rwsem, LockMode::write, where);
}

void chain_link(Kernel& k, Vma* vma, AnonVma* av) {
  assert_tree_locked(k, av, "anon_vma_chain_link");
  AnonVmaChain* avc = k.avcs.alloc();
  avc->vma = vma;
  avc->anon_vma = av;
  sched_point(k, Access::write, vma_id(vma), "anon_vma_chain_link");
  vma->anon_vma_chain.push_back(avc);
  sched_point(k, Access::write, anon_vma_id(av), "anon_vma_interval_tree_insert");
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
  sched_point(k, Access::write, vma_id(vma), "anon_vma_prepare");
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
      sched_point(k, Access::write, vma_id(dst), "anon_vma_clone");
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
  get_anon_vma(k, av->root);
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
      sched_point(k, Access::write, anon_vma_id(av), "anon_vma_interval_tree_remove");
      av->rb_root.remove(*avc);
      if (av->rb_root.empty()) {
        av->parent->num_children--;
        emptied.push_back(av);
      }
      sched_point(k, Access::free, avc_id(avc), "anon_vma_chain_free");
      k.avcs.free(avc);
    }
    if (vma->anon_vma) vma->anon_vma->num_active_vmas--;
    sched_point(k, Access::write, vma_id(vma), "unlink_anon_vmas");
    vma->anon_vma = nullptr;
    vma->anon_vma_chain.clear();
  }
  for (AnonVma* av : emptied) put_anon_vma(k, av);
}

void anon_vma_pre_update(Kernel& k, Vma* vma) {
  for (AnonVmaChain* avc : vma->anon_vma_chain) {
    assert_tree_locked(k, avc->anon_vma, "anon_vma_interval_tree_pre_update_vma");
    sched_point(k, Access::write, anon_vma_id(avc->anon_vma), "anon_vma_interval_tree_pre_update_vma");
    avc->anon_vma->rb_root.remove(*avc);
  }
}

void anon_vma_post_update(Kernel& k, Vma* vma) {
  for (AnonVmaChain* avc : vma->anon_vma_chain) {
    assert_tree_locked(k, avc->anon_vma, "anon_vma_interval_tree_post_update_vma");
    sched_point(k, Access::write, anon_vma_id(avc->anon_vma), "anon_vma_interval_tree_post_update_vma");
    avc->anon_vma->rb_root.insert(*avc);
  }
}

}  // namespace impl
