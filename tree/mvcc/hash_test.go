package mvcc

import (
	"fmt"
	"testing"
)

// hashStep is one step of a history replayed against etcd 3.6.6; the
// hashes below are what etcd's HashKV RPC answered after these steps.
func replay(t *testing.T, s *Store, steps ...string) {
	t.Helper()
	for _, step := range steps {
		var err error
		switch {
		case step[0] == 'p': // "p key value"
			var k, v string
			fmt.Sscanf(step, "p %s %s", &k, &v)
			mustPut(t, s, k, v)
		case step[0] == 'd': // "d key"
			_, _, err = s.Delete(DeleteRequest{Key: bs(step[2:])})
		case step[0] == 'c': // "c rev"
			var rev int64
			fmt.Sscanf(step, "c %d", &rev)
			err = s.Compact(rev)
		}
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
}

// A tombstone exactly at the compaction is never hashed, even when no key
// has a version the compaction keeps (etcd's kvHasher skips it on its own).
// etcd: put x, put y, del x, compact 4, del y → HashKV(5) = 3588791141.
func TestHashKVSkipsTombstoneAtCompaction(t *testing.T) {
	s := New()
	replay(t, s, "p x 1", "p y 1", "d x", "c 4", "d y")
	h, hr, cr, err := s.HashKV(5)
	if err != nil || h != 3588791141 || hr != 5 || cr != 4 {
		t.Fatalf("HashKV(5) = %d, %d, %d, %v; want 3588791141, 5, 4 (etcd)", h, hr, cr, err)
	}
	// Before that compaction the same store hashed as etcd did at 4.
	if h, cr, ok := s.CompactionHash(4); !ok || h != 2492024659 || cr != -1 {
		t.Fatalf("CompactionHash(4) = %d, %d, %v; want 2492024659, -1 (etcd)", h, cr, ok)
	}
}

// etcd answers HashKV at a compaction's revision from the hash it took while
// compacting (hashes of the last ten compactions), even for a revision now
// below a later compaction, and even for revision 0 after "compact 0".
func TestCompactionHash(t *testing.T) {
	s := New()
	if _, _, ok := s.CompactionHash(0); ok {
		t.Fatal("fresh store has a compaction hash")
	}
	replay(t, s, "c 0", "p a 1")
	if h, cr, ok := s.CompactionHash(0); !ok || h != 1084519789 || cr != -1 {
		t.Fatalf("CompactionHash(0) = %d, %d, %v; want 1084519789, -1", h, cr, ok)
	}
	if h, _, cr, err := s.HashKV(2); err != nil || h != 2587454935 || cr != 0 {
		t.Fatalf("HashKV(2) = %d, %d, %v; want 2587454935, 0", h, cr, err)
	}
	replay(t, s, "p a 2", "d a", "c 4")
	if h, cr, ok := s.CompactionHash(4); !ok || h != 1363947557 || cr != 0 {
		t.Fatalf("CompactionHash(4) = %d, %d, %v; want 1363947557, 0 (etcd)", h, cr, ok)
	}
	replay(t, s, "p x 1", "p y 1", "d x", "c 7")
	if h, cr, ok := s.CompactionHash(7); !ok || h != 3242202651 || cr != 4 {
		t.Fatalf("CompactionHash(7) = %d, %d, %v; want 3242202651, 4 (etcd)", h, cr, ok)
	}
	replay(t, s, "d y")
	for i := int64(1); i <= 11; i++ {
		replay(t, s, "p z 1", fmt.Sprint("c ", 8+i))
	}
	// Ten are kept: 10..19; 0, 4, 7 and 9 are forgotten.
	for _, rev := range []int64{0, 4, 7, 9} {
		if _, _, ok := s.CompactionHash(rev); ok {
			t.Fatalf("CompactionHash(%d) still remembered", rev)
		}
	}
	if h, cr, ok := s.CompactionHash(10); !ok || h != 2037129228 || cr != 9 {
		t.Fatalf("CompactionHash(10) = %d, %d, %v; want 2037129228, 9 (etcd)", h, cr, ok)
	}
	if h, cr, ok := s.CompactionHash(19); !ok || h != 2033621737 || cr != 18 {
		t.Fatalf("CompactionHash(19) = %d, %d, %v; want 2033621737, 18 (etcd)", h, cr, ok)
	}
	if h, _, cr, err := s.HashKV(0); err != nil || h != 2033621737 || cr != 19 {
		t.Fatalf("HashKV(0) = %d, %d, %v; want 2033621737, 19 (etcd)", h, cr, err)
	}
	// A failed compaction records nothing.
	if err := s.Compact(19); err != ErrCompacted {
		t.Fatal(err)
	}
	if len(s.hashes) != compactionHashes {
		t.Fatalf("%d hashes kept", len(s.hashes))
	}
}

// A negative HashKV revision is not the current one: etcd hashes what lies
// at or below it (nothing, so the bare seed 1084519789) and reports the
// negative revision as hashed, before and after compactions alike.
// etcd 3.6.6: HashKV{revision: -1} on a store at 73 answered hash
// 1084519789, hash_revision -1, compact_revision -1; after "compact 36",
// compact_revision 36 and the same hash.
func TestHashKVNegativeRevision(t *testing.T) {
	s := New()
	replay(t, s, "p a 1", "p b 2", "p a 3")
	for _, rev := range []int64{-1, -100} {
		h, hr, cr, err := s.HashKV(rev)
		if err != nil || h != 1084519789 || hr != rev || cr != -1 {
			t.Fatalf("HashKV(%d) = %d, %d, %d, %v; want 1084519789, %d, -1 (etcd)", rev, h, hr, cr, err, rev)
		}
	}
	replay(t, s, "c 3")
	h, hr, cr, err := s.HashKV(-1)
	if err != nil || h != 1084519789 || hr != -1 || cr != 3 {
		t.Fatalf("after compact 3: HashKV(-1) = %d, %d, %d, %v; want 1084519789, -1, 3 (etcd)", h, hr, cr, err)
	}
}
