package mvcc

import "slices"

// Compact discards the versions that no read at or after rev can see. rev
// at or below the last compaction gives ErrCompacted (so does -1 on a store
// never compacted, while 0 is accepted); rev above the current revision
// gives ErrFutureRev. The revision does not move.
//
// The work runs on a clone of the index, so readers are held up only by two
// O(1) steps: taking the clone and swapping the result in.
func (s *Store) Compact(rev int64) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	s.mu.Lock()
	if rev <= s.compactRev {
		s.mu.Unlock()
		return ErrCompacted
	}
	if rev > s.rev {
		s.mu.Unlock()
		return ErrFutureRev
	}
	// Two clones: one to walk, one to change. Walking s.tree itself outside
	// mu would race with Snapshot, which clones s.tree and so writes to it.
	walk, next := s.tree.Clone(), s.tree.Clone()
	prev := s.compactRev
	s.mu.Unlock()

	// etcd hashes the revisions it walks while compacting and answers
	// HashKV at rev from that hash afterwards (CompactionHash).
	hash := hashTree(walk, rev, prev, true)

	var size int64
	walk.Ascend(func(e keyEntry) bool {
		vs := compactVersions(e.versions, rev)
		switch {
		case len(vs) == 0:
			next.Delete(e)
			return true
		case len(vs) != len(e.versions):
			// A copy, not a sub-slice: a sub-slice would keep the dropped
			// versions, values and all, alive in the backing array until
			// the key is written again, which may be never.
			e.versions = slices.Clone(vs)
			next.ReplaceOrInsert(e)
		}
		size += entrySize(&e)
		return true
	})

	s.mu.Lock()
	s.tree, s.compactRev, s.size = next, rev, size
	s.rememberHashLocked(compactionHash{hash: hash, rev: rev, compactRev: prev})
	s.mu.Unlock()
	return nil
}

// compactVersions returns what survives a compaction at rev of one key's
// versions, nil if the key goes away entirely.
func compactVersions(vs []version, rev int64) []version {
	start, at := compactPoint(vs, rev)
	switch {
	case start == len(vs):
		return nil
	case at >= 0:
		return vs[at:]
	}
	return vs[start:]
}

// compactPoint mirrors etcd's keyIndex.doCompact on a flat version list. A
// key's history is a series of generations, each ended by a tombstone; the
// last one is open (or empty, when the list ends with a tombstone).
// Generations whose tombstone is below rev are dropped whole: start is the
// index of the first one kept (len(vs) if none). at is the index of the
// newest version at or below rev inside that generation, -1 if it has none;
// versions before at are dropped too. So the version a read at rev sees
// survives, and so does a tombstone exactly at rev (a watch from rev must
// still report that delete).
func compactPoint(vs []version, rev int64) (start, at int) {
	for i := range vs {
		if vs[i].tombstone() {
			if vs[i].rev.Main >= rev {
				break
			}
			start = i + 1
		}
	}
	at = -1
	for i := start; i < len(vs) && vs[i].rev.Main <= rev; i++ {
		at = i
		if vs[i].tombstone() {
			break // the generation ends here
		}
	}
	return start, at
}

// BumpRevision moves the current revision amount ahead without a write, as
// etcd's `snapshot restore --bump-revision` does, so that a restored
// keyspace never hands out a revision its clients have already seen.
func (s *Store) BumpRevision(amount int64) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rev += amount
}
