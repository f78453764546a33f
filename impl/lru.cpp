#include "impl/lru.hpp"

#include <fmt/format.h>

#include <set>

#include "impl/kernel.hpp"
#include "impl/sched_point.hpp"

namespace impl {
namespace {

unsigned idx(LruList l) { return static_cast<unsigned>(l); }

const char* lru_name(LruList l) {
  switch (l) {
    case LruList::none: return "none";
    case LruList::inactive_anon: return "inactive_anon";
    case LruList::active_anon: return "active_anon";
    case LruList::inactive_file: return "inactive_file";
    case LruList::active_file: return "active_file";
    case LruList::unevictable: return "unevictable";
  }
  return "?";
}

bool is_active(LruList l) { return l == LruList::active_anon || l == LruList::active_file; }

void list_add(Kernel& k, Folio* f, LruList l, bool to_tail) {
  LruVec& v = k.lruvec;
  k.locks.assert_held(v.lru_lock, LockMode::write, "lruvec_add_folio");
  sched_point(k, Access::write, lru_id, "lruvec_add_folio");
  const unsigned i = idx(l);
  f->lru = l;
  if (to_tail) {
    f->lru_prev = v.tail[i];
    f->lru_next = nullptr;
    (v.tail[i] ? v.tail[i]->lru_next : v.head[i]) = f;
    v.tail[i] = f;
  } else {
    f->lru_next = v.head[i];
    f->lru_prev = nullptr;
    (v.head[i] ? v.head[i]->lru_prev : v.tail[i]) = f;
    v.head[i] = f;
  }
  v.nr[i]++;
}

void list_del(Kernel& k, Folio* f) {
  LruVec& v = k.lruvec;
  k.locks.assert_held(v.lru_lock, LockMode::write, "lruvec_del_folio");
  sched_point(k, Access::write, lru_id, "lruvec_del_folio");
  const unsigned i = idx(f->lru);
  (f->lru_prev ? f->lru_prev->lru_next : v.head[i]) = f->lru_next;
  (f->lru_next ? f->lru_next->lru_prev : v.tail[i]) = f->lru_prev;
  v.nr[i]--;
  f->lru = LruList::none;
  f->lru_prev = f->lru_next = nullptr;
}

// Where the folio's state says it belongs, keeping its active/inactive side.
LruList expected_list(const Folio* f) {
  if (f->mlocked()) return LruList::unevictable;
  // A folio cut loose from its file or shmem object (truncated while pinned) stays on
  // the list it was on, as an orphaned page does.
  if (!f->anon() && !f->mapping && f->lru != LruList::unevictable) return f->lru;
  return folio_lru_list(f, is_active(f->lru));
}

}  // namespace

LruList folio_lru_list(const Folio* folio, bool active) {
  if (folio->swapbacked()) return active ? LruList::active_anon : LruList::inactive_anon;
  return active ? LruList::active_file : LruList::inactive_file;
}

void folio_add_lru(Kernel& k, Folio* folio) {
  if (folio->lru != LruList::none) return;
  LockGuard lru_lock(k.locks, k.lruvec.lru_lock, LockMode::write);
  list_add(k, folio, folio->mlocked() ? LruList::unevictable : folio_lru_list(folio, false), false);
}

void folio_del_lru(Kernel& k, Folio* folio) {
  if (folio->lru == LruList::none && !k.locks.hook()) return;
  // Looked at under the lock: a move under way (another CPU's, holding the lock) has
  // it off its list for a moment.
  LockGuard lru_lock(k.locks, k.lruvec.lru_lock, LockMode::write);
  if (folio->lru != LruList::none) list_del(k, folio);
}

void lru_move(Kernel& k, Folio* folio, LruList list, bool to_tail) {
  LockGuard lru_lock(k.locks, k.lruvec.lru_lock, LockMode::write);
  if (folio->lru != LruList::none) list_del(k, folio);
  list_add(k, folio, list, to_tail);
}

namespace {

// Moves a folio that is on an evictable list to `list` (for the active flag of `active`)
// — as folio_test_clear_lru, it looks under the lru_lock: a folio isolated or freed
// since the caller saw it on a list is left alone.
void move_evictable(Kernel& k, Folio* folio, bool active, bool to_tail) {
  if (folio->lru == LruList::unevictable || folio->lru == LruList::none) return;
  LockGuard lru_lock(k.locks, k.lruvec.lru_lock, LockMode::write);
  if (folio->lru == LruList::unevictable || folio->lru == LruList::none) return;
  list_del(k, folio);
  list_add(k, folio, folio_lru_list(folio, active), to_tail);
}

}  // namespace

void folio_activate(Kernel& k, Folio* folio) { move_evictable(k, folio, true, false); }

void folio_deactivate(Kernel& k, Folio* folio) {
  if (folio->lru == LruList::unevictable || folio->lru == LruList::none) return;
  folio->referenced = false;
  move_evictable(k, folio, false, true);
}

void mlock_folio(Kernel& k, Folio* folio) {
  if (folio->mlock_count++ == 0 && folio->lru != LruList::none) lru_move(k, folio, LruList::unevictable);
}

void munlock_folio(Kernel& k, Folio* folio) {
  if (folio->mlock_count == 0) return;  // checked by the invariants, never negative
  if (--folio->mlock_count == 0 && folio->lru != LruList::none)
    lru_move(k, folio, folio_lru_list(folio, false));
}

std::vector<Folio*> lru_folios_oldest_first(const Kernel& k, LruList list) {
  std::vector<Folio*> out;
  for (Folio* f = k.lruvec.tail[idx(list)]; f; f = f->lru_prev) out.push_back(f);
  return out;
}

void check_lru(Kernel& k, std::vector<std::string>& out) {
  std::set<const Folio*> seen;
  for (unsigned i = 1; i < nr_lru_lists; ++i) {
    const LruList l = static_cast<LruList>(i);
    uint64_t n = 0;
    const Folio* prev = nullptr;
    for (const Folio* f = k.lruvec.head[i]; f; prev = f, f = f->lru_next) {
      ++n;
      if (f->freed) out.push_back(fmt::format("lru {}: freed folio {} on the list", lru_name(l), f->id));
      if (f->lru != l) out.push_back(fmt::format("lru {}: folio {} says it is on {}", lru_name(l), f->id, lru_name(f->lru)));
      if (f->lru_prev != prev) out.push_back(fmt::format("lru {}: folio {} has a broken prev link", lru_name(l), f->id));
      if (!seen.insert(f).second) out.push_back(fmt::format("lru {}: folio {} is on two lists", lru_name(l), f->id));
      if (n > k.folios.live()) {
        out.push_back(fmt::format("lru {}: the list loops", lru_name(l)));
        break;
      }
    }
    if (prev != k.lruvec.tail[i]) out.push_back(fmt::format("lru {}: tail is not the last folio", lru_name(l)));
    if (n != k.lruvec.nr[i]) out.push_back(fmt::format("lru {}: counts {} folios but holds {}", lru_name(l), k.lruvec.nr[i], n));
  }
  k.folios.for_each_live([&](Folio& f) {
    if (f.lru == LruList::none) {
      out.push_back(fmt::format("folio {} in use is on no LRU list", f.id));
    } else if (f.lru != expected_list(&f)) {
      out.push_back(fmt::format("folio {} is on {} but belongs on {} (mlock_count {})", f.id, lru_name(f.lru),
                                lru_name(expected_list(&f)), f.mlock_count));
    }
  });
}

}  // namespace impl
