package wal

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func newTestSnapshotter(t *testing.T) (*Snapshotter, string, *logCapture) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "snap") // Save creates it
	c := &logCapture{}
	return NewSnapshotter(dir, slog.New(c)), dir, c
}

func snapFiles(t *testing.T, dir string, ext string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ext {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestSnapshotterSaveLoad(t *testing.T) {
	s, dir, _ := newTestSnapshotter(t)
	if _, _, err := s.Load(); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("Load of a missing dir = %v, want ErrNoSnapshot", err)
	}
	for i, m := range []SnapshotMark{{Index: 10, Term: 1}, {Index: 300, Term: 2}, {Index: 25, Term: 1}} {
		if err := s.Save(m, bytes.Repeat([]byte{byte(i + 1)}, 1000*(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	m, data, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if m != (SnapshotMark{Index: 300, Term: 2}) || !bytes.Equal(data, bytes.Repeat([]byte{2}, 2000)) {
		t.Fatalf("Load = %+v, %d bytes", m, len(data))
	}
	if err := s.Save(SnapshotMark{Index: 301, Term: 2}, nil); err != nil {
		t.Fatal(err)
	}
	if m, data, err := s.Load(); err != nil || m.Index != 301 || len(data) != 0 {
		t.Fatalf("Load of an empty snapshot = %+v, %d bytes, %v", m, len(data), err)
	}
	if tmps := snapFiles(t, dir, tmpExt); len(tmps) != 0 {
		t.Fatalf("temporary files left: %v", tmps)
	}
}

func TestSnapshotterCorruptNewest(t *testing.T) {
	// Each damage gets the newest file's bytes and the older file's.
	for name, damage := range map[string]func(newer, older []byte) []byte{
		"flipped data byte": func(b, _ []byte) []byte { b[snapHeaderSize+5] ^= 1; return b },
		"flipped checksum":  func(b, _ []byte) []byte { b[len(b)-1] ^= 1; return b },
		"truncated":         func(b, _ []byte) []byte { return b[:len(b)-3] },
		"empty":             func(_, _ []byte) []byte { return nil },
		"not a snapshot":    func(b, _ []byte) []byte { return append([]byte("garbage!"), b[8:]...) },
		// A sound file under another file's name.
		"wrong mark inside": func(_, older []byte) []byte { return older },
	} {
		t.Run(name, func(t *testing.T) {
			s, dir, logs := newTestSnapshotter(t)
			older, newer := SnapshotMark{Index: 5, Term: 1}, SnapshotMark{Index: 9, Term: 1}
			if err := s.Save(older, []byte("older")); err != nil {
				t.Fatal(err)
			}
			if err := s.Save(newer, []byte("newer")); err != nil {
				t.Fatal(err)
			}
			olderPath, path := filepath.Join(dir, snapName(older)), filepath.Join(dir, snapName(newer))
			olderBytes, err := os.ReadFile(olderPath)
			if err != nil {
				t.Fatal(err)
			}
			patchFile(t, path, func(b []byte) []byte { return damage(b, olderBytes) })
			m, data, err := s.Load()
			if err != nil || m != older || string(data) != "older" {
				t.Fatalf("Load = %+v, %q, %v; want the older snapshot", m, data, err)
			}
			if _, err := os.Stat(path + brokenExt); err != nil {
				t.Fatalf("the corrupt file was not moved aside: %v", err)
			}
			if ws := logs.warnings(); len(ws) != 1 || ws[0]["path"] != path {
				t.Fatalf("warnings %v", ws)
			}
			// Once every file is corrupt, there is no snapshot.
			patchFile(t, olderPath, func(b []byte) []byte { b[len(b)-1] ^= 1; return b })
			if _, _, err := s.Load(); !errors.Is(err, ErrNoSnapshot) {
				t.Fatalf("Load with only corrupt files = %v, want ErrNoSnapshot", err)
			}
		})
	}
}

func TestSnapshotterUnsupportedVersion(t *testing.T) {
	s, dir, _ := newTestSnapshotter(t)
	m := SnapshotMark{Index: 5, Term: 1}
	if err := s.Save(m, []byte("x")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, snapName(m))
	patchFile(t, path, func(b []byte) []byte {
		b[8] = 2 // a newer format, with a sound checksum
		body := len(b) - snapCRCSize
		crc := crc32c(b[:body])
		b[body], b[body+1], b[body+2], b[body+3] = byte(crc), byte(crc>>8), byte(crc>>16), byte(crc>>24)
		return b
	})
	if _, _, err := s.Load(); !errors.Is(err, ErrUnsupportedVersion) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("Load = %v, want ErrUnsupportedVersion", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal("a file of a newer format was moved aside")
	}
}

func TestSnapshotterRelease(t *testing.T) {
	s, dir, _ := newTestSnapshotter(t)
	if err := s.Release(2); err != nil {
		t.Fatalf("Release with no directory: %v", err)
	}
	for i := uint64(1); i <= 6; i++ {
		if err := s.Save(SnapshotMark{Index: i * 100, Term: 1}, []byte("s")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Release(0); err == nil {
		t.Fatal("Release(0) succeeded")
	}
	if err := s.Release(2); err != nil {
		t.Fatal(err)
	}
	got := snapFiles(t, dir, snapExt)
	want := []string{snapName(SnapshotMark{Index: 500, Term: 1}), snapName(SnapshotMark{Index: 600, Term: 1})}
	if !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
}

// The crash between Snapshotter.Save and WAL.SaveSnapshot leaves a newest
// snapshot file the WAL never recorded; a restart must use the previous one.
func TestSnapshotterLoadNewestAvailable(t *testing.T) {
	walDir := t.TempDir()
	opts, _ := testOpts(t, smallSegments)
	s, snapDir, _ := newTestSnapshotter(t)
	w := mustCreate(t, walDir, opts)
	mustSave(t, w, HardState{Term: 1, Commit: 20}, mkEnts(1, 20, 1))
	recorded := SnapshotMark{Index: 10, Term: 1}
	if err := s.Save(recorded, []byte("recorded")); err != nil {
		t.Fatal(err)
	}
	if err := w.SaveSnapshot(recorded); err != nil {
		t.Fatal(err)
	}
	orphan := SnapshotMark{Index: 20, Term: 1}
	if err := s.Save(orphan, []byte("orphan")); err != nil {
		t.Fatal(err)
	}
	mustClose(t, w) // the crash, before w.SaveSnapshot(orphan)

	marks, err := ValidSnapshotMarks(walDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	m, data, err := s.LoadNewestAvailable(marks)
	if err != nil || m != recorded || string(data) != "recorded" {
		t.Fatalf("LoadNewestAvailable(%v) = %+v, %q, %v", marks, m, data, err)
	}
	if _, err := os.Stat(filepath.Join(snapDir, snapName(orphan)+orphanExt)); err != nil {
		t.Fatalf("the orphan was not moved aside: %v", err)
	}
	w, _, ents := reopen(t, walDir, m, opts)
	defer mustClose(t, w)
	equalEntries(t, ents, mkEnts(11, 20, 1))
}

func TestSnapshotterRemovesUnfinishedSave(t *testing.T) {
	s, dir, _ := newTestSnapshotter(t)
	if err := s.Save(SnapshotMark{Index: 1, Term: 1}, []byte("a")); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, snapName(SnapshotMark{Index: 2, Term: 1})+tmpExt)
	if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if m, _, err := s.Load(); err != nil || m.Index != 1 {
		t.Fatalf("Load = %+v, %v", m, err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("unfinished snapshot still there: %v", err)
	}
}

// A failing fsync of the snapshot file leaves no file behind.
func TestSnapshotterSaveSyncFails(t *testing.T) {
	s, dir, _ := newTestSnapshotter(t)
	s.fs = &faultFS{FS: OSFS, failSync: func(string) bool { return true }}
	if err := s.Save(SnapshotMark{Index: 1, Term: 1}, []byte("a")); !errors.Is(err, errInjected) {
		t.Fatalf("Save = %v", err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Fatalf("files left: %v", names)
	}
}

// TestSnapshotterPeekLeavesFiles: the read-only open skips a corrupt newest
// file and an orphan without moving either, and streams the data it checked.
func TestSnapshotterPeekLeavesFiles(t *testing.T) {
	s, dir, _ := newTestSnapshotter(t)
	older, newer, orphan := SnapshotMark{Index: 5, Term: 1}, SnapshotMark{Index: 9, Term: 1}, SnapshotMark{Index: 12, Term: 1}
	for _, m := range []SnapshotMark{older, newer, orphan} {
		if err := s.Save(m, []byte(snapName(m))); err != nil {
			t.Fatal(err)
		}
	}
	patchFile(t, filepath.Join(dir, snapName(newer)), func(b []byte) []byte { b[snapHeaderSize] ^= 1; return b })
	before := snapFiles(t, dir, snapExt)
	m, d, err := s.PeekNewestAvailable([]SnapshotMark{older, newer})
	if err != nil {
		t.Fatal(err)
	}
	data, err := d.readAll()
	if err != nil || m != older || string(data) != snapName(older) {
		t.Fatalf("Peek = %+v, %q, %v; want the older snapshot", m, data, err)
	}
	if after := snapFiles(t, dir, snapExt); !slices.Equal(before, after) {
		t.Fatalf("files before %v, after %v", before, after)
	}
}
