package mvcc

import (
	"slices"
)

// History returns the changes to the keys selected by key and end (the
// forms of RangeRequest) with a revision of from or later, as the events a
// watcher would have received: in revision order, and within a revision
// in the order the transaction made them. PrevKV is the key's version
// before the event, when the store still has it.
//
// When limit > 0, History stops after the revision at which the count of
// events reaches limit, never inside a revision: a watcher receives a
// revision's events together. through is the last revision the answer
// covers; the caller continues from through+1. from below the compaction
// revision gives ErrCompacted, since events are missing there; from the
// compaction revision itself, as in etcd, what is left of it is given (the
// versions it kept, not the deletions it dropped).
//
// History of a range works on a copy-on-write view, so a long scan does
// not hold up writers; that of one key, a short read, under the read lock,
// which spares the next writes the copies a view costs them.
func (s *Store) History(key, end []byte, from int64, limit int) (events []Event, through int64, err error) {
	var v *Snapshot
	if end == nil {
		s.mu.RLock()
		defer s.mu.RUnlock()
		v = &Snapshot{tree: s.tree, rev: s.rev, compactRev: s.compactRev}
	} else {
		v = s.Snapshot()
	}
	if from < v.compactRev {
		return nil, 0, ErrCompacted
	}
	through = v.rev
	if from > v.rev {
		return nil, through, nil
	}
	type change struct {
		rev Revision
		ev  Event
	}
	var changes []change
	scanRange(v.tree, key, end, func(e keyEntry) bool {
		vs := e.versions
		// Versions are oldest first: start at the first at or after from.
		i, _ := slices.BinarySearchFunc(vs, from, func(v version, rev int64) int { return compareInt64(v.rev.Main, rev) })
		for ; i < len(vs); i++ {
			if vs[i].tombstone() && vs[i].rev.Main <= v.compactRev {
				// etcd's compaction drops a deletion at its revision.
				continue
			}
			c := change{rev: vs[i].rev}
			if vs[i].tombstone() {
				c.ev = Event{Type: EventDelete, KV: KeyValue{Key: e.key, ModRevision: vs[i].rev.Main}}
			} else {
				c.ev = Event{Type: EventPut, KV: kvOf(e.key, &vs[i])}
			}
			// The key as it was before the transaction, as etcd reads it at
			// ModRevision-1: earlier changes of the same transaction do not
			// count. None for the first version of a key's life, even when
			// the transaction deleted an older one first (as the writes'
			// own events have it).
			j := i - 1
			for j >= 0 && vs[j].rev.Main == vs[i].rev.Main {
				j--
			}
			if j >= 0 && !vs[j].tombstone() && (c.ev.Type == EventDelete || vs[i].ver > 1) {
				prev := kvOf(e.key, &vs[j])
				c.ev.PrevKV = &prev
			}
			changes = append(changes, c)
		}
		return true
	})
	slices.SortFunc(changes, func(a, b change) int {
		switch {
		case a.rev.Main != b.rev.Main:
			return compareInt64(a.rev.Main, b.rev.Main)
		default:
			return compareInt64(a.rev.Sub, b.rev.Sub)
		}
	})
	if limit > 0 && len(changes) > limit {
		last := changes[limit-1].rev.Main
		n := limit
		for n < len(changes) && changes[n].rev.Main == last {
			n++
		}
		changes = changes[:n]
		through = last
	}
	events = make([]Event, len(changes))
	for i := range changes {
		events[i] = changes[i].ev
	}
	return events, through, nil
}
