package mvcc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"sync"
	"testing"
)

// historyStore builds a store with overwritten, deleted, re-created and
// compacted keys, leases and a multi-key txn.
func historyStore(t testing.TB) *Store {
	s := New()
	leases := leaseSet{1: true}
	for i := range 30 {
		key := fmt.Sprintf("k%d", i%7)
		if _, _, err := s.Put(PutRequest{Key: bs(key), Value: bs(fmt.Sprint(i)), Lease: int64(i % 2)}, leases); err != nil {
			t.Fatal(err)
		}
		if i%5 == 4 {
			if _, _, err := s.Delete(DeleteRequest{Key: bs(key)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, _, err := s.Txn(TxnRequest{Success: []Op{opPutKV("t1", ""), opPutKV("t2", "x"), opDel("k1", "k3")}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(20); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "k0", "after compaction")
	return s
}

// observe renders everything a client can read from s: every readable
// revision in full, HashKV at each, and the whole-store hash.
func observe(t testing.TB, s *Store) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "rev=%d compact=%d hash=%d\n", s.Rev(), s.CompactRev(), s.Hash())
	for rev := max(s.CompactRev()-1, 1); rev <= s.Rev(); rev++ {
		b.WriteString(run(s, RangeRequest{Key: []byte{0}, End: []byte{0}, Revision: rev}, nil) + "\n")
		h, hr, cr, err := s.HashKV(rev)
		fmt.Fprintf(&b, "hashkv %d %d %d %v\n", h, hr, cr, err)
	}
	return b.String()
}

func snapshotBytes(t testing.TB, v *Snapshot) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := v.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d, %v; wrote %d", n, err, buf.Len())
	}
	return buf.Bytes()
}

// A snapshot keeps showing its moment while the store moves on (overwrites
// of the same keys, deletes, a compaction), even when written out on another
// goroutine during those writes.
func TestSnapshotIsolation(t *testing.T) {
	s := historyStore(t)
	want := observe(t, s)
	v := s.Snapshot()
	if v.Rev() != s.Rev() {
		t.Fatalf("snapshot rev %d, store rev %d", v.Rev(), s.Rev())
	}

	var wg sync.WaitGroup
	var data []byte
	var werr error
	wg.Go(func() {
		// Written three times, to overlap more of the writes below.
		for range 3 {
			var buf bytes.Buffer
			if _, werr = v.WriteTo(&buf); werr != nil {
				return
			}
			data = buf.Bytes()
		}
	})
	for i := range 200 {
		mustPut(t, s, fmt.Sprintf("k%d", i%7), fmt.Sprint("new", i))
		if i%50 == 0 {
			if _, _, err := s.Delete(DeleteRequest{Key: bs("k"), End: bs("l")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Compact(s.Rev() - 5); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}

	r, err := Restore(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	checkStr(t, "restored", observe(t, r), want)
	checkStr(t, "snapshot written after the writes", observe(t, mustRestore(t, snapshotBytes(t, v))), want)
	if !bytes.Equal(snapshotBytes(t, r.Snapshot()), data) {
		t.Fatal("re-encoding the restored store gave different bytes")
	}
}

func mustRestore(t testing.TB, data []byte) *Store {
	t.Helper()
	s, err := Restore(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A restored store is a normal store: it takes writes like the original.
func TestRestoreThenWrite(t *testing.T) {
	s := historyStore(t)
	r := mustRestore(t, snapshotBytes(t, s.Snapshot()))
	for _, st := range []*Store{s, r} {
		if _, _, err := st.Txn(TxnRequest{Success: []Op{opPutKV("k0", "x"), opDel("t1", ""), opPutKV("new", "1")}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := st.Compact(st.Rev() - 1); err != nil {
			t.Fatal(err)
		}
	}
	checkStr(t, "after the same writes", observe(t, r), observe(t, s))
}

// Restore reads exactly one snapshot, so snapshots can be concatenated.
func TestRestoreStopsAtTheEnd(t *testing.T) {
	a, b := historyStore(t), New()
	mustPut(t, b, "only", "one")
	var buf bytes.Buffer
	buf.Write(snapshotBytes(t, a.Snapshot()))
	buf.Write(snapshotBytes(t, b.Snapshot()))
	buf.WriteString("tail")
	ra, err := Restore(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Restore(&buf)
	if err != nil {
		t.Fatal(err)
	}
	checkStr(t, "first", observe(t, ra), observe(t, a))
	checkStr(t, "second", observe(t, rb), observe(t, b))
	checkStr(t, "left over", buf.String(), "tail")
}

// sealBody wraps a snapshot body in a valid header and checksum.
func sealBody(body []byte) []byte {
	out := []byte(snapshotMagic)
	out = binary.BigEndian.AppendUint32(out, snapshotFormat)
	out = binary.BigEndian.AppendUint64(out, uint64(len(body)))
	out = append(out, body...)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

// body builds a snapshot body from varint fields: int64 → varint,
// uint64 → uvarint, string → length-prefixed bytes.
func body(fields ...any) []byte {
	var b []byte
	for _, f := range fields {
		switch x := f.(type) {
		case int64:
			b = binary.AppendVarint(b, x)
		case uint64:
			b = binary.AppendUvarint(b, x)
		case string:
			b = binary.AppendUvarint(b, uint64(len(x)))
			b = append(b, x...)
		default:
			panic(fmt.Sprintf("body field %T", f))
		}
	}
	return b
}

func TestRestoreRefuses(t *testing.T) {
	good := snapshotBytes(t, historyStore(t).Snapshot())
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x40
		return b
	}
	newFormat := bytes.Clone(good)
	binary.BigEndian.PutUint32(newFormat[8:], 2)
	// A live version: main, sub, version, create, lease, value.
	live := func(main, sub, ver, create uint64) []any {
		return []any{main, sub, ver, create, int64(0), ""}
	}
	key := func(k string, versions ...[]any) []any {
		out := []any{k, uint64(len(versions))}
		for _, v := range versions {
			out = append(out, v...)
		}
		return out
	}
	tomb := func(main uint64) []any { return []any{main, uint64(0), uint64(0)} }
	state := func(rev, compactRev int64, keys ...[]any) []byte {
		fields := []any{rev, compactRev, uint64(len(keys))}
		for _, k := range keys {
			fields = append(fields, k...)
		}
		return sealBody(body(fields...))
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty input", nil, "header: truncated"},
		{"bad magic", flip(0), "not an mvcc snapshot"},
		{"unknown format", newFormat, "unsupported format version 2 (this build reads 1)"},
		{"flipped body byte", flip(headerSize + 40), ""},
		{"flipped checksum", flip(len(good) - 1), "checksum mismatch"},
		{"body too long for its keys", sealBody(append(body(int64(1), int64(-1), uint64(0)), 0)), "1 bytes left after the last key"},
		{"claimed length beyond the input", good[:len(good)-4], ""},
		{"huge value length", sealBody(body(int64(5), int64(-1), uint64(1), "k", uint64(1), uint64(2), uint64(0), uint64(1), uint64(2), int64(0), uint64(1<<62))), "exceeds"},
		{"revision 0", state(0, -1), "revision 0"},
		{"compaction above revision", state(3, 4), "compacted at 4"},
		{"compaction below -1", state(3, -2), "compacted at -2"},
		{"keys out of order", state(5, -1, key("b", live(2, 0, 1, 2)), key("a", live(3, 0, 1, 3))), "out of order"},
		{"duplicate key", state(5, -1, key("a", live(2, 0, 1, 2)), key("a", live(3, 0, 1, 3))), "out of order"},
		{"empty key", state(5, -1, key("", live(2, 0, 1, 2))), "empty"},
		{"key without versions", state(5, -1, key("a")), "no versions"},
		{"revision above the store's", state(5, -1, key("a", live(6, 0, 1, 6))), "revision out of range"},
		{"revisions out of order", state(5, -1, key("a", live(3, 0, 1, 3), live(2, 0, 2, 3))), "out of order"},
		{"same revision twice", state(5, -1, key("a", live(3, 1, 1, 3), live(3, 1, 2, 3))), "out of order"},
		{"create above mod", state(5, -1, key("a", live(3, 0, 1, 4))), "create revision"},
		{"version skips", state(5, -1, key("a", live(2, 0, 1, 2), live(3, 0, 3, 2))), "does not follow"},
		{"create changes", state(5, -1, key("a", live(2, 0, 1, 2), live(3, 0, 2, 3))), "does not follow"},
		{"two tombstones", state(5, -1, key("a", live(2, 0, 1, 2), tomb(3), tomb(4))), "two tombstones"},
		{"re-create keeps version", state(5, -1, key("a", live(2, 0, 1, 2), tomb(3), live(4, 0, 2, 2))), "new generation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Restore(bytes.NewReader(tc.data))
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore: %v; want ErrCorrupt containing %q", err, tc.want)
			}
		})
	}
	t.Run("every truncation", func(t *testing.T) {
		for n := range len(good) {
			if _, err := Restore(bytes.NewReader(good[:n])); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Restore of %d/%d bytes: %v", n, len(good), err)
			}
		}
	})
	t.Run("hand-built valid state", func(t *testing.T) {
		// A compacted store may start a key with a tombstone, and a txn
		// may delete and re-create a key in one revision.
		data := state(6, 3, key("a", tomb(3), live(4, 0, 1, 4)), key("b", live(2, 0, 4, 1), tomb(5)), key("c", []any{uint64(6), uint64(0), uint64(0)}, live(6, 1, 1, 6)))
		s := mustRestore(t, data)
		checkStr(t, "state", run(s, all, nil), `rev=6 count=2 more=false ["a"=""/c4/m4/v1/l0 "c"=""/c6/m6/v1/l0]`)
	})
}

// Readers run while a writer writes and snapshots are taken: run with -race.
func TestConcurrentReaders(t *testing.T) {
	s := historyStore(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Range(all); err != nil {
					t.Error(err)
					return
				}
				// A compaction may overtake a historical read, nothing else.
				past := RangeRequest{Key: []byte{0}, End: []byte{0}, Revision: s.Rev() - 3}
				if _, err := s.Range(past); err != nil && !errors.Is(err, ErrCompacted) {
					t.Error(err)
					return
				}
				if _, _, _, err := s.HashKV(0); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 300 {
		mustPut(t, s, fmt.Sprintf("c%d", i%13), "v")
		if i%100 == 99 {
			if err := s.Compact(s.Rev() - 10); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
}
