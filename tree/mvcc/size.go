package mvcc

// versionOverhead approximates what one stored version costs besides its
// key and value: the revision, create revision, version and lease.
const versionOverhead = 40

// versionSize is what one version adds to Size.
func versionSize(v *version) int64 { return versionOverhead + int64(len(v.value)) }

// entrySize is what one key with all its versions adds to Size.
func entrySize(e *keyEntry) int64 {
	n := int64(len(e.key))
	for i := range e.versions {
		n += versionSize(&e.versions[i])
	}
	return n
}

// SnapshotFramingBytes is what a snapshot of the keyspace holds beyond
// Size: its header and checksum. Even an empty keyspace takes that much.
const SnapshotFramingBytes = headerSize + 4

// Size estimates the bytes the keyspace holds: every kept version with its
// key, value and bookkeeping. It is kept up to date by every write and
// compaction, so it costs nothing to ask.
func (s *Store) Size() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.size
}

// LiveKeys is the number of keys at the current revision (deleted ones not
// counted), kept up to date by every write, so it costs nothing to ask.
func (s *Store) LiveKeys() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.live
}

// liveDelta is what replacing e's newest version by v does to LiveKeys.
func liveDelta(e *keyEntry, v *version) int64 {
	var d int64
	if e.latest() != nil {
		d--
	}
	if !v.tombstone() {
		d++
	}
	return d
}
