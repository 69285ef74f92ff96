package mvcc

import (
	"cmp"
	"encoding/binary"
	"hash/crc32"
	"slices"

	"github.com/google/btree"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// keyBucket is the name of etcd's bbolt bucket of revisions; HashKV starts
// from it because etcd's does.
const keyBucket = "key"

// HashKV returns etcd's HashKV of the keyspace up to rev (rev 0: the
// current revision; rev < 0: nothing, so the bare seed), the revision
// hashed, and the last compaction. Members with the same history agree on it whenever each compacted, because it
// skips exactly what compaction may drop.
//
// As etcd computes it: CRC-32C over "key", then, for every stored version at
// or below rev in revision order, its bbolt key (8-byte big-endian main, '_',
// 8-byte sub, 't' for a tombstone) and its marshalled mvccpb.KeyValue (a
// tombstone's holds only the key). A version at or below the compaction is
// skipped unless it is what a compaction at rev would keep of a key and is
// not a tombstone; when no key has such a version, nothing is skipped but a
// tombstone exactly at the compaction, which is always skipped.
//
// HashKV computes; etcd's RPC first looks among the compaction hashes
// (CompactionHash).
func (s *Store) HashKV(rev int64) (hash uint32, hashRev int64, compactRev int64, err error) {
	return s.Snapshot().hashKV(rev)
}

func (v *Snapshot) hashKV(rev int64) (uint32, int64, int64, error) {
	if rev > 0 && rev < v.compactRev {
		return 0, 0, v.compactRev, ErrCompacted
	}
	if rev > v.rev {
		return 0, 0, v.compactRev, ErrFutureRev
	}
	if rev == 0 {
		rev = v.rev
	}
	// A negative revision is not "current": etcd hashes what lies at or
	// below it, which is nothing, and reports it as the revision hashed.
	return hashTree(v.tree, rev, v.compactRev, false), rev, v.compactRev, nil
}

// hashTree is etcd's kvHasher over tree, which holds what etcd's bbolt
// "key" bucket holds: every stored version at or below rev, in revision
// order. A version at or below compactRev is skipped unless it is what a
// compaction at rev keeps of its key, when any key has such a version; a
// tombstone exactly at compactRev is always skipped. HashKV asks what
// etcd's index.Keep keeps, which leaves out a tombstone; the hash taken
// while compacting (compacting=true) asks index.Compact, which keeps it.
func hashTree(tree *btree.BTreeG[keyEntry], rev, compactRev int64, compacting bool) uint32 {
	type item struct {
		key []byte
		v   *version
		// compacted: at or below the compaction and not kept at rev.
		compacted bool
	}
	var items []item
	keepAny := false
	tree.Ascend(func(e keyEntry) bool {
		_, at := compactPoint(e.versions, rev)
		if at >= 0 && !compacting && e.versions[at].tombstone() {
			at = -1
		}
		keepAny = keepAny || at >= 0
		for i := range e.versions {
			ver := &e.versions[i]
			if ver.rev.Main > rev {
				break
			}
			if ver.rev.Main == compactRev && ver.tombstone() {
				continue
			}
			items = append(items, item{key: e.key, v: ver, compacted: ver.rev.Main <= compactRev && i != at})
		}
		return true
	})
	if keepAny {
		items = slices.DeleteFunc(items, func(it item) bool { return it.compacted })
	}
	slices.SortFunc(items, func(a, b item) int {
		if c := cmp.Compare(a.v.rev.Main, b.v.rev.Main); c != 0 {
			return c
		}
		return cmp.Compare(a.v.rev.Sub, b.v.rev.Sub)
	})
	h := crc32.New(castagnoli)
	h.Write([]byte(keyBucket))
	var buf []byte
	for _, it := range items {
		buf = appendRevKey(buf[:0], it.v)
		buf = appendKVProto(buf, it.key, it.v)
		h.Write(buf)
	}
	return h.Sum32()
}

// compactionHashes is how many compaction hashes a store remembers, etcd's
// hashStorageMaxSize.
const compactionHashes = 10

// compactionHash is the HashKV a compaction computed on its way.
type compactionHash struct {
	hash       uint32
	rev        int64 // the compaction's revision
	compactRev int64 // the compaction before it
}

// CompactionHash returns the hash the compaction at rev computed, with the
// compaction before it, if it is among the last ten this store ran. etcd's
// HashKV answers from these first, whenever the asked revision equals one
// of them, even one now below the compaction (and even 0, after a
// "compact 0"). They are what the members of a cluster compare, and they
// are the store's memory of its own compactions since it started: a
// restored store starts without any, as etcd does after a restart.
//
// The hash is HashKV at rev as the store stood before that compaction,
// except that a tombstone at rev counts as kept (etcd hashes while it
// compacts, with the compaction's own keep set).
func (s *Store) CompactionHash(rev int64) (hash uint32, compactRev int64, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, h := range s.hashes {
		if h.rev == rev {
			return h.hash, h.compactRev, true
		}
	}
	return 0, 0, false
}

// rememberHashLocked records a compaction hash, keeping the newest ten by
// revision. s.mu must be held.
func (s *Store) rememberHashLocked(h compactionHash) {
	s.hashes = append(s.hashes, h)
	slices.SortStableFunc(s.hashes, func(a, b compactionHash) int { return cmp.Compare(a.rev, b.rev) })
	if n := len(s.hashes); n > compactionHashes {
		s.hashes = slices.Delete(s.hashes, 0, n-compactionHashes)
	}
}

// Hash returns a CRC-32C of the whole store: every stored version of every
// key (keys in order, each oldest first, encoded as HashKV encodes them),
// then the current and compacted revisions as 8-byte big-endian integers.
// It is Larch's own definition (etcd hashes its whole bbolt file): equal
// states give equal hashes, and a snapshot restores to the same hash.
func (s *Store) Hash() uint32 {
	return s.Snapshot().hash()
}

func (v *Snapshot) hash() uint32 {
	h := crc32.New(castagnoli)
	var buf []byte
	v.tree.Ascend(func(e keyEntry) bool {
		for i := range e.versions {
			buf = appendRevKey(buf[:0], &e.versions[i])
			buf = appendKVProto(buf, e.key, &e.versions[i])
			h.Write(buf)
		}
		return true
	})
	buf = binary.BigEndian.AppendUint64(buf[:0], uint64(v.rev))
	buf = binary.BigEndian.AppendUint64(buf, uint64(v.compactRev))
	h.Write(buf)
	return h.Sum32()
}

// appendRevKey appends v's key in etcd's bbolt "key" bucket.
func appendRevKey(b []byte, v *version) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(v.rev.Main))
	b = append(b, '_')
	b = binary.BigEndian.AppendUint64(b, uint64(v.rev.Sub))
	if v.tombstone() {
		b = append(b, 't')
	}
	return b
}

// appendKVProto appends v as a marshalled mvccpb.KeyValue: fields key=1,
// create_revision=2, mod_revision=3, version=4, value=5, lease=6 in number
// order, zero values left out (proto3), which is byte for byte what etcd's
// gogo-generated Marshal writes. etcd stores a tombstone as KeyValue{Key}.
func appendKVProto(b, key []byte, v *version) []byte {
	b = appendBytesField(b, 1, key)
	if v.tombstone() {
		return b
	}
	b = appendIntField(b, 2, v.create)
	b = appendIntField(b, 3, v.rev.Main)
	b = appendIntField(b, 4, v.ver)
	b = appendBytesField(b, 5, v.value)
	return appendIntField(b, 6, v.lease)
}

func appendIntField(b []byte, field uint64, x int64) []byte {
	if x == 0 {
		return b
	}
	b = binary.AppendUvarint(b, field<<3) // wire type 0, varint
	return binary.AppendUvarint(b, uint64(x))
}

func appendBytesField(b []byte, field uint64, p []byte) []byte {
	if len(p) == 0 {
		return b
	}
	b = binary.AppendUvarint(b, field<<3|2) // wire type 2, length-delimited
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}
