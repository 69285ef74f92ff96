package mvcc

// versionOverhead approximates what one stored version costs besides its
// key and value: the revision, create revision, version and lease.
const versionOverhead = 40

// Size estimates the bytes the keyspace holds: every kept version with its
// key, value and bookkeeping. It walks the index, so it is meant for status
// reports, not for a per-write quota check.
func (s *Store) Size() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	s.tree.Ascend(func(e keyEntry) bool {
		n += int64(len(e.key))
		for i := range e.versions {
			n += versionOverhead + int64(len(e.versions[i].value))
		}
		return true
	})
	return n
}
