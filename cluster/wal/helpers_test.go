package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// logCapture is a slog.Handler that keeps every record, so tests can check
// what was logged.
type logCapture struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, r.Clone())
	return nil
}
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

// warnings returns the attributes of every warning, keyed by name, with
// the message under "msg".
func (c *logCapture) warnings() []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, r := range c.recs {
		if r.Level < slog.LevelWarn {
			continue
		}
		m := map[string]any{"msg": r.Message}
		r.Attrs(func(a slog.Attr) bool {
			m[a.Key] = a.Value.Any()
			return true
		})
		out = append(out, m)
	}
	return out
}

// smallSegments keeps tests fast: Open reads a whole preallocated segment.
const smallSegments = 256 << 10

func testOpts(t testing.TB, segmentSize int64) (Options, *logCapture) {
	t.Helper()
	c := &logCapture{}
	return Options{SegmentSize: segmentSize, Logger: slog.New(c)}, c
}

// mkEnts returns entries lo..hi at term, with data that tells them apart and
// contains no long runs of zeros.
func mkEnts(lo, hi, term uint64) []Entry {
	var ents []Entry
	for i := lo; i <= hi; i++ {
		ents = append(ents, Entry{Index: i, Term: term, Data: fmt.Appendf(nil, "entry %d at term %d; %s", i, term, bytes.Repeat([]byte{'x'}, int(i%37)))})
	}
	return ents
}

func mustCreate(t testing.TB, dir string, opts Options) *WAL {
	t.Helper()
	w, err := Create(dir, []byte("metadata"), opts)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return w
}

func mustSave(t testing.TB, w *WAL, hs HardState, ents []Entry) {
	t.Helper()
	if err := w.Save(hs, ents); err != nil {
		t.Fatalf("Save(%+v, %d entries from %d): %v", hs, len(ents), firstIndex(ents), err)
	}
}

func firstIndex(ents []Entry) uint64 {
	if len(ents) == 0 {
		return 0
	}
	return ents[0].Index
}

func mustClose(t testing.TB, w *WAL) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// reopen opens dir from mark and reads it all.
func reopen(t testing.TB, dir string, from SnapshotMark, opts Options) (*WAL, HardState, []Entry) {
	t.Helper()
	w, err := Open(dir, from, opts)
	if err != nil {
		t.Fatalf("Open(%s, %+v): %v", dir, from, err)
	}
	md, hs, ents, err := w.ReadAll()
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if string(md) != "metadata" {
		t.Fatalf("metadata = %q, want %q", md, "metadata")
	}
	return w, hs, ents
}

func equalEntries(t testing.TB, got, want []Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries (%s), want %d (%s)", len(got), describe(got), len(want), describe(want))
	}
	for i := range got {
		if got[i].Index != want[i].Index || got[i].Term != want[i].Term || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Fatalf("entry %d = {%d %d %q}, want {%d %d %q}", i,
				got[i].Index, got[i].Term, got[i].Data, want[i].Index, want[i].Term, want[i].Data)
		}
	}
}

func describe(ents []Entry) string {
	if len(ents) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d..%d", ents[0].Index, ents[len(ents)-1].Index)
}

// segmentFiles returns the paths of the segment files in dir, by sequence.
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	segs, _, err := listSegments(OSFS, dir, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, s := range segs {
		paths = append(paths, filepath.Join(dir, s.Name()))
	}
	return paths
}

// recordAt is the extent of one record in a segment file.
type recordAt struct {
	off, end int64
	typ      recordType
	flags    uint8
}

// records lists the records of a segment file up to the end of its log.
func records(t testing.TB, path string) []recordAt {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []recordAt
	for off := 0; off < len(b); {
		r, n, st := decodeRecord(b[off:])
		if st != decodeOK {
			break
		}
		out = append(out, recordAt{int64(off), int64(off + n), r.typ, r.flags})
		off += n
	}
	return out
}

// copyDir copies the regular files of src into a new temporary directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// patchFile applies fn to the bytes of path.
func patchFile(t testing.TB, path string, fn func(b []byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

// wantCorruption checks that err is a *CorruptionError at path and offset.
func wantCorruption(t testing.TB, err error, path string, off int64) *CorruptionError {
	t.Helper()
	var ce *CorruptionError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *CorruptionError", err)
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("errors.Is(%v, ErrCorrupt) is false", err)
	}
	if ce.Path != path || ce.Offset != off {
		t.Fatalf("corruption at %s:%d, want %s:%d (%v)", ce.Path, ce.Offset, path, off, err)
	}
	return ce
}

// faultFS wraps an FS and lets a test fail or tear writes and syncs.
type faultFS struct {
	FS
	mu sync.Mutex
	// tearWrite, if set, is asked about every WriteAt; when it returns
	// true, only p[:keep] is written and WriteAt fails.
	tearWrite func(name string, p []byte) (keep int, tear bool)
	// failSync, if set, makes Sync of name fail when it returns true.
	failSync func(name string) bool
	// noSync turns every Sync and SyncDir into a no-op (fuzzing needs no
	// durability, and must not wait for the disk).
	noSync bool
	syncs  int
}

func (f *faultFS) SyncDir(dir string) error {
	if f.noSync {
		return nil
	}
	return f.FS.SyncDir(dir)
}

var errInjected = errors.New("injected fault")

func (f *faultFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	file, err := f.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, name: name, fs: f}, nil
}

type faultFile struct {
	File
	name string
	fs   *faultFS
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	tw := f.fs.tearWrite
	f.fs.mu.Unlock()
	if tw != nil {
		if keep, tear := tw(f.name, p); tear {
			n, err := f.File.WriteAt(p[:keep], off)
			return n, errors.Join(errInjected, err)
		}
	}
	return f.File.WriteAt(p, off)
}

func (f *faultFile) Sync() error {
	f.fs.mu.Lock()
	fail := f.fs.failSync != nil && f.fs.failSync(f.name)
	f.fs.syncs++
	f.fs.mu.Unlock()
	if fail {
		return errInjected
	}
	if f.fs.noSync {
		return nil
	}
	return f.File.Sync()
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
