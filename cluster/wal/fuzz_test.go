package wal

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// segmentSeed returns the log bytes (without the zero tail) of a small
// segment with entries, hard states, an overwrite and a snapshot mark.
func segmentSeed(t testing.TB) []byte {
	dir := t.TempDir()
	w, err := Create(dir, []byte("md"), Options{SegmentSize: 4096, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mustSave(t, w, HardState{Term: 1, Vote: 1, Commit: 1}, mkEnts(1, 3, 1))
	mustSave(t, w, HardState{Term: 2, Vote: 2, Commit: 2}, mkEnts(3, 4, 2))
	if err := w.SaveSnapshot(SnapshotMark{Index: 2, Term: 1}); err != nil {
		t.Fatal(err)
	}
	mustSave(t, w, HardState{}, mkEnts(5, 5, 2))
	end := w.off
	mustClose(t, w)
	b, err := os.ReadFile(filepath.Join(dir, Segment{Seq: 0, Index: 1}.Name()))
	if err != nil {
		t.Fatal(err)
	}
	return b[:end]
}

// FuzzDecodeRecord: decodeRecord never panics, sizes stay in bounds, and a
// sound record encodes back to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	seg := segmentSeed(f)
	f.Add(seg)
	f.Add(seg[:20])
	f.Add(seg[100:])
	f.Add(make([]byte, 40))
	f.Add(appendHardState(nil, HardState{Term: 1, Vote: 2, Commit: 3}, flagBatchEnd))
	f.Add(appendEntry(nil, Entry{Index: 1, Term: 1}, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, st := decodeRecord(b)
		switch st {
		case decodeOK:
			if n < headerSize || n > len(b) || n%recordAlign != 0 {
				t.Fatalf("sound record of size %d in %d bytes", n, len(b))
			}
			enc, start := beginRecord(nil)
			enc = append(enc, r.payload...)
			enc = finishRecord(enc, start, r.typ, r.flags)
			if r.reserved == 0 && !bytes.Equal(enc, b[:n]) {
				t.Fatalf("re-encoding differs:\n%x\n%x", enc, b[:n])
			}
			// The typed decoders must not panic on a sound record either.
			switch r.typ {
			case recordHeader:
				_, _ = decodeSegmentHeader(r.payload)
			case recordEntry:
				_, _ = decodeEntry(r.payload)
			}
		case decodeBadData:
			if n < headerSize || n > len(b) {
				t.Fatalf("damaged record of size %d in %d bytes", n, len(b))
			}
		}
	})
}

// FuzzReadAll opens arbitrary bytes as the only segment of a log. Open must
// not panic; when it succeeds (possibly after truncating a torn tail), the
// replay must be consistent and the log must take an append that survives
// a reopen.
func FuzzReadAll(f *testing.F) {
	seg := segmentSeed(f)
	f.Add(seg)
	f.Add(seg[:len(seg)-5])
	f.Add(append(append([]byte(nil), seg...), make([]byte, 100)...))
	f.Add(append(append([]byte(nil), seg...), 1, 2, 3))
	flipped := bytes.Clone(seg)
	flipped[len(flipped)/2] ^= 4
	f.Add(flipped)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, Segment{Seq: 0, Index: 1}.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
		opts := Options{SegmentSize: 4096, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), FS: &faultFS{FS: OSFS, noSync: true}}
		w, err := Open(dir, SnapshotMark{}, opts)
		if err != nil {
			return // any error will do; a panic will not
		}
		md, _, ents, err := w.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range ents {
			if e.Index != uint64(i)+1 {
				t.Fatalf("replayed entry %d at position %d", e.Index, i)
			}
		}
		from, next := w.mark, w.lastIndex+1
		hs := HardState{Term: 7, Vote: 7, Commit: next}
		added := Entry{Index: next, Term: 7, Data: []byte("appended")}
		if err := w.Save(hs, []Entry{added}); err != nil {
			t.Fatalf("Save after a successful Open: %v", err)
		}
		mustClose(t, w)

		w, err = Open(dir, from, opts)
		if err != nil {
			t.Fatalf("reopen from %+v: %v", from, err)
		}
		defer mustClose(t, w)
		md2, hs2, ents2, err := w.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		var want []Entry
		for _, e := range ents {
			if e.Index > from.Index {
				want = append(want, e)
			}
		}
		equalEntries(t, ents2, append(want, added))
		if hs2 != hs || !bytes.Equal(md, md2) {
			t.Fatalf("after reopen: hard state %+v, metadata %q; want %+v, %q", hs2, md2, hs, md)
		}
	})
}

// FuzzSnapshotFile: decodeSnapshotFile never panics and accepts only what
// Save could have written.
func FuzzSnapshotFile(f *testing.F) {
	dir := f.TempDir()
	s := NewSnapshotter(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	m := SnapshotMark{Index: 3, Term: 2}
	if err := s.Save(m, []byte("snapshot data")); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, snapName(m)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:30])
	f.Add([]byte(snapMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m SnapshotMark
		if len(b) >= 28 {
			m = decodeMarkPayload(b[12:28])
		}
		data, err := decodeSnapshotFile("fuzz.snap", m, b)
		if err != nil {
			return
		}
		if len(data) != len(b)-snapHeaderSize-snapCRCSize ||
			binary.LittleEndian.Uint64(b[28:36]) != uint64(len(data)) {
			t.Fatalf("accepted a file with %d bytes of data in %d bytes", len(data), len(b))
		}
	})
}
