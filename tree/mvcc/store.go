package mvcc

import (
	"bytes"
	"slices"
	"sync"

	"github.com/google/btree"
)

// btreeDegree is the fan-out of the key index; 32 keeps nodes a few cache
// lines wide and the tree shallow (etcd's index uses the same).
const btreeDegree = 32

// version is one stored revision of a key. A tombstone has ver == 0 and no
// other field but rev set; a live version has ver >= 1.
type version struct {
	rev    Revision
	create int64
	ver    int64
	lease  int64
	value  []byte
}

func (v *version) tombstone() bool { return v.ver == 0 }

// keyEntry is the index item of one key: every version kept since the last
// compaction, oldest first (ascending Revision).
//
// Entries are values in the B-tree and are never changed once published:
// a write stores a new entry. versions may still share a backing array with
// an older entry, but elements below an entry's len are never written again,
// so every published entry keeps seeing exactly what it saw. Extending the
// array in place is allowed only while epoch equals Store.epoch, that is
// while no Snapshot can hold an entry that shares the array
// (appendVersionLocked).
type keyEntry struct {
	key      []byte
	versions []version
	epoch    uint64
}

func lessEntry(a, b keyEntry) bool { return bytes.Compare(a.key, b.key) < 0 }

func newTree() *btree.BTreeG[keyEntry] { return btree.NewG(btreeDegree, lessEntry) }

// at returns the index of the version visible at main revision rev: the
// newest one with rev.Main <= rev (the last sub-revision wins when a txn
// touched the key twice). It returns -1 when the key had no version yet.
func (e *keyEntry) at(rev int64) int {
	vs := e.versions
	if n := len(vs); n > 0 && vs[n-1].rev.Main <= rev {
		return n - 1 // the common case: a read at or after the last change
	}
	lo, hi := 0, len(vs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if vs[m].rev.Main <= rev {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// liveAt returns the version visible at rev, nil if the key did not exist.
func (e *keyEntry) liveAt(rev int64) *version {
	i := e.at(rev)
	if i < 0 || e.versions[i].tombstone() {
		return nil
	}
	return &e.versions[i]
}

// latest returns the newest version if it is live.
func (e *keyEntry) latest() *version {
	if n := len(e.versions); n > 0 && !e.versions[n-1].tombstone() {
		return &e.versions[n-1]
	}
	return nil
}

// Store is the v3 keyspace. All methods are safe for concurrent use; the
// write methods are meant to be called from one apply loop.
//
// Byte slices in results and events alias the store's memory: callers must
// not modify them.
type Store struct {
	// writeMu serialises the write methods (Txn, Put, Delete, Compact), so
	// the tree changes only by the hand of its holder; Compact relies on
	// that while it works outside mu. Lock order: writeMu, then mu.
	writeMu sync.Mutex

	// mu guards the fields below. Readers hold it shared; a writer holds it
	// exclusively while it changes tree (a txn, from its compares to its
	// commit) or swaps in a compacted tree.
	mu         sync.RWMutex
	tree       *btree.BTreeG[keyEntry]
	rev        int64  // revision of the last write that changed something
	compactRev int64  // -1 until the first compaction
	epoch      uint64 // bumped by every Snapshot; see keyEntry
	size       int64  // Size: the sum of entrySize over the tree
	live       int64  // LiveKeys: the keys whose newest version is not a tombstone
	// hashes are the last compactions' hashes (CompactionHash). They are
	// not part of snapshots: etcd keeps them in memory only.
	hashes []compactionHash

	// w is the write path's scratch state, reused so a txn allocates little.
	// Guarded by writeMu.
	w writer
}

// New returns an empty store at revision 1, never compacted.
func New() *Store {
	return &Store{tree: newTree(), rev: 1, compactRev: -1}
}

// ReplaceWith makes s hold the state of other, a store restored from a
// snapshot, in place: everyone holding s sees the new state. other must not
// be used afterwards.
func (s *Store) ReplaceWith(other *Store) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tree, s.rev, s.compactRev, s.size, s.live, s.epoch = other.tree, other.rev, other.compactRev, other.size, other.live, other.epoch
	s.hashes = nil
}

// Rev returns the current revision.
func (s *Store) Rev() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rev
}

// CompactRev returns the revision of the last compaction, -1 if none.
func (s *Store) CompactRev() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.compactRev
}

// Range reads keys at the current revision or, with req.Revision > 0, at a
// past one. It does not validate req (see ValidateRange).
func (s *Store) Range(req RangeRequest) (RangeResult, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rev := req.Revision
	if rev > s.rev {
		return RangeResult{}, ErrFutureRev
	}
	if rev <= 0 {
		rev = s.rev
	}
	if rev < s.compactRev {
		return RangeResult{}, ErrCompacted
	}
	return readRange(s.tree, &req, rev, s.rev), nil
}

// appendVersionLocked returns e with v appended, for a writer holding writeMu
// and mu. It writes into e's backing array only if no snapshot can share it,
// and then only past len(e.versions), which no published entry sees.
func (s *Store) appendVersionLocked(e keyEntry, v version) keyEntry {
	if e.epoch != s.epoch {
		vs := make([]version, len(e.versions), len(e.versions)+1+len(e.versions)/4)
		copy(vs, e.versions)
		e.versions, e.epoch = vs, s.epoch
	}
	e.versions = append(e.versions, v)
	return e
}

// InRange reports whether key is selected by start and end in the forms of
// RangeRequest (and of watchers): end nil is the single key start; end
// empty or "\x00" is every key from start on.
func InRange(key, start, end []byte) bool {
	switch {
	case end == nil:
		return bytes.Equal(key, start)
	case len(end) == 0 || (len(end) == 1 && end[0] == 0):
		return bytes.Compare(key, start) >= 0
	}
	return bytes.Compare(key, start) >= 0 && bytes.Compare(key, end) < 0
}

// scanRange calls f for every entry of the range in key order until f
// returns false. The forms are those of RangeRequest; etcd tells a single key
// (end nil) from "every key >= key" (end "\x00", or empty but not nil).
//
// Entries go to f by value, so that scanning allocates nothing per key.
func scanRange(t *btree.BTreeG[keyEntry], key, end []byte, f func(e keyEntry) bool) {
	switch {
	case end == nil:
		if e, ok := t.Get(keyEntry{key: key}); ok {
			f(e)
		}
	case len(end) == 0 || (len(end) == 1 && end[0] == 0):
		t.AscendGreaterOrEqual(keyEntry{key: key}, f)
	case bytes.Compare(end, key) > 0:
		t.AscendRange(keyEntry{key: key}, keyEntry{key: end}, f)
	}
}

// readRange serves req at read revision rev (already checked against the
// compaction and the current revision) and reports curRev as the result's
// revision. It follows etcd's order: fetch, filter, sort, cut to the limit.
func readRange(t *btree.BTreeG[keyEntry], req *RangeRequest, rev, curRev int64) RangeResult {
	res := RangeResult{Revision: curRev}
	filtered := req.MinModRevision != 0 || req.MaxModRevision != 0 ||
		req.MinCreateRevision != 0 || req.MaxCreateRevision != 0
	// With a sort order or a filter etcd fetches everything; otherwise one
	// more than the limit, to know whether there is more. (Sort order NONE
	// with another target still fetches only limit+1 and sorts those: a quirk
	// kept on purpose.)
	fetch := req.Limit
	if req.SortOrder != SortNone || filtered {
		fetch = 0
	}
	if fetch > 0 {
		fetch++
	}
	var kvs []KeyValue
	scanRange(t, req.Key, req.End, func(e keyEntry) bool {
		v := e.liveAt(rev)
		if v == nil {
			return true
		}
		res.Count++
		if !req.CountOnly && (fetch <= 0 || int64(len(kvs)) < fetch) {
			kvs = append(kvs, kvOf(e.key, v))
		}
		return true
	})
	if filtered {
		kvs = slices.DeleteFunc(kvs, func(kv KeyValue) bool {
			return (req.MaxModRevision != 0 && kv.ModRevision > req.MaxModRevision) ||
				(req.MinModRevision != 0 && kv.ModRevision < req.MinModRevision) ||
				(req.MaxCreateRevision != 0 && kv.CreateRevision > req.MaxCreateRevision) ||
				(req.MinCreateRevision != 0 && kv.CreateRevision < req.MinCreateRevision)
		})
	}
	sortKVs(kvs, req.SortOrder, req.SortTarget)
	if req.Limit > 0 && int64(len(kvs)) > req.Limit {
		kvs = kvs[:req.Limit]
		res.More = true
	}
	if req.KeysOnly {
		for i := range kvs {
			kvs[i].Value = nil
		}
	}
	res.KVs = kvs
	return res
}

// sortKVs sorts a key-ordered slice. The sort is stable so that ties keep
// ascending key order in both directions, as etcd shows on small sets.
func sortKVs(kvs []KeyValue, order SortOrder, target SortTarget) {
	if target != SortByKey && order == SortNone {
		order = SortAscend
	}
	if order == SortNone || (target == SortByKey && order == SortAscend) || len(kvs) < 2 {
		return
	}
	var cmp func(a, b KeyValue) int
	switch target {
	case SortByKey:
		cmp = func(a, b KeyValue) int { return bytes.Compare(a.Key, b.Key) }
	case SortByVersion:
		cmp = func(a, b KeyValue) int { return compareInt64(a.Version, b.Version) }
	case SortByCreate:
		cmp = func(a, b KeyValue) int { return compareInt64(a.CreateRevision, b.CreateRevision) }
	case SortByMod:
		cmp = func(a, b KeyValue) int { return compareInt64(a.ModRevision, b.ModRevision) }
	case SortByValue:
		cmp = func(a, b KeyValue) int { return bytes.Compare(a.Value, b.Value) }
	default:
		return // refused by ValidateRange
	}
	switch order {
	case SortAscend:
		slices.SortStableFunc(kvs, cmp)
	case SortDescend:
		slices.SortStableFunc(kvs, func(a, b KeyValue) int { return cmp(b, a) })
	}
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
