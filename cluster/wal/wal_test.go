package wal

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	opts, logs := testOpts(t, 0)
	if ok, err := Exist(dir); ok || err != nil {
		t.Fatalf("Exist on an empty directory = %v, %v", ok, err)
	}
	if ok, err := Exist(filepath.Join(dir, "missing")); ok || err != nil {
		t.Fatalf("Exist on a missing directory = %v, %v", ok, err)
	}
	w := mustCreate(t, dir, opts)
	if ok, err := Exist(dir); !ok || err != nil {
		t.Fatalf("Exist after Create = %v, %v", ok, err)
	}
	mustSave(t, w, HardState{Term: 1, Vote: 1, Commit: 0}, mkEnts(1, 3, 1))
	mustSave(t, w, HardState{Term: 1, Vote: 1, Commit: 3}, nil)
	mustSave(t, w, HardState{}, mkEnts(4, 4, 1)) // zero hard state: unchanged
	mustSave(t, w, HardState{Term: 2, Vote: 3, Commit: 4}, mkEnts(5, 9, 2))
	mustClose(t, w)

	w, hs, ents := reopen(t, dir, SnapshotMark{}, opts)
	want := append(mkEnts(1, 4, 1), mkEnts(5, 9, 2)...)
	equalEntries(t, ents, want)
	if want := (HardState{Term: 2, Vote: 3, Commit: 4}); hs != want {
		t.Fatalf("hard state %+v, want %+v", hs, want)
	}

	// The reopened WAL appends after what it replayed.
	mustSave(t, w, HardState{Term: 2, Vote: 3, Commit: 9}, mkEnts(10, 12, 2))
	mustClose(t, w)
	w, hs, ents = reopen(t, dir, SnapshotMark{}, opts)
	defer mustClose(t, w)
	equalEntries(t, ents, append(want, mkEnts(10, 12, 2)...))
	if hs.Commit != 9 {
		t.Fatalf("commit %d, want 9", hs.Commit)
	}
	if ws := logs.warnings(); len(ws) != 0 {
		t.Fatalf("unexpected warnings: %v", ws)
	}
}

func TestSaveNoop(t *testing.T) {
	opts, _ := testOpts(t, smallSegments)
	w := mustCreate(t, t.TempDir(), opts)
	defer mustClose(t, w)
	hs := HardState{Term: 1, Vote: 2, Commit: 0}
	mustSave(t, w, hs, mkEnts(1, 1, 1))
	off := w.off
	mustSave(t, w, hs, nil)
	mustSave(t, w, HardState{}, nil)
	if w.off != off {
		t.Fatalf("a Save with nothing new wrote %d bytes", w.off-off)
	}
	mustSave(t, w, HardState{Term: 1, Vote: 2, Commit: 1}, nil)
	if w.off == off {
		t.Fatal("a changed hard state was not written")
	}
}

// Save must cost exactly one write and one sync, whatever the batch size.
func TestSaveOneWriteOneSync(t *testing.T) {
	opts, _ := testOpts(t, smallSegments)
	ffs := &faultFS{FS: OSFS}
	opts.FS = ffs
	var writes int
	ffs.tearWrite = func(string, []byte) (int, bool) { writes++; return 0, false }
	w := mustCreate(t, t.TempDir(), opts)
	defer mustClose(t, w)
	writes, ffs.syncs = 0, 0
	mustSave(t, w, HardState{Term: 1, Commit: 50}, mkEnts(1, 100, 1))
	if writes != 1 || ffs.syncs != 1 {
		t.Fatalf("Save of 100 entries made %d writes and %d syncs, want 1 and 1", writes, ffs.syncs)
	}
}

// SaveState writes a hard state without a sync, and a reopen reads it.
func TestSaveStateWithoutSync(t *testing.T) {
	opts, _ := testOpts(t, smallSegments)
	ffs := &faultFS{FS: OSFS}
	opts.FS = ffs
	dir := t.TempDir()
	w := mustCreate(t, dir, opts)
	mustSave(t, w, HardState{Term: 1, Commit: 1}, mkEnts(1, 5, 1))
	ffs.syncs = 0
	if err := w.SaveState(HardState{Term: 1, Commit: 5}); err != nil {
		t.Fatal(err)
	}
	if ffs.syncs != 0 {
		t.Fatalf("SaveState synced %d times", ffs.syncs)
	}
	mustClose(t, w)
	w, hs, ents := reopen(t, dir, SnapshotMark{}, opts)
	defer mustClose(t, w)
	equalEntries(t, ents, mkEnts(1, 5, 1))
	if hs.Commit != 5 {
		t.Fatalf("commit after reopen %d, want 5", hs.Commit)
	}
}

func TestOverwrite(t *testing.T) {
	for _, segSize := range []int64{0, 512} {
		t.Run(map[int64]string{0: "one segment", 512: "many segments"}[segSize], func(t *testing.T) {
			dir := t.TempDir()
			opts, _ := testOpts(t, segSize)
			w := mustCreate(t, dir, opts)
			mustSave(t, w, HardState{Term: 1}, mkEnts(1, 10, 1))
			// A new leader overwrites the uncommitted tail 6..10 with 6..7.
			mustSave(t, w, HardState{Term: 2}, mkEnts(6, 7, 2))
			// And another one overwrites 7 and goes on.
			mustSave(t, w, HardState{Term: 3}, mkEnts(7, 9, 3))
			mustClose(t, w)

			w, hs, ents := reopen(t, dir, SnapshotMark{}, opts)
			defer mustClose(t, w)
			want := append(append(mkEnts(1, 5, 1), mkEnts(6, 6, 2)...), mkEnts(7, 9, 3)...)
			equalEntries(t, ents, want)
			if hs.Term != 3 {
				t.Fatalf("term %d, want 3", hs.Term)
			}
			// Appending after the overwritten tail continues from 9.
			mustSave(t, w, HardState{}, mkEnts(10, 10, 3))
			if err := w.Save(HardState{}, mkEnts(12, 12, 3)); !errors.Is(err, ErrOutOfOrder) {
				t.Fatalf("Save with a gap: %v, want ErrOutOfOrder", err)
			}
		})
	}
}

func TestSaveOutOfOrder(t *testing.T) {
	opts, _ := testOpts(t, smallSegments)
	w := mustCreate(t, t.TempDir(), opts)
	defer mustClose(t, w)
	mustSave(t, w, HardState{Term: 1}, mkEnts(1, 5, 1))
	if err := w.SaveSnapshot(SnapshotMark{Index: 3, Term: 1}); err != nil {
		t.Fatal(err)
	}
	for name, ents := range map[string][]Entry{
		"gap":                   mkEnts(7, 8, 1),
		"not contiguous":        {{Index: 6, Term: 1}, {Index: 8, Term: 1}},
		"index 0":               {{Index: 0, Term: 1}},
		"at the snapshot index": mkEnts(3, 4, 2),
		"below the snapshot":    mkEnts(2, 6, 2),
	} {
		if err := w.Save(HardState{Term: 5}, ents); !errors.Is(err, ErrOutOfOrder) {
			t.Errorf("%s: Save = %v, want ErrOutOfOrder", name, err)
		}
	}
	if err := w.SaveSnapshot(SnapshotMark{Index: 2, Term: 1}); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("older SaveSnapshot = %v, want ErrOutOfOrder", err)
	}
	if err := w.SaveSnapshot(SnapshotMark{Index: 3, Term: 1}); err != nil {
		t.Errorf("SaveSnapshot of the same mark again = %v, want nil", err)
	}
	// Misuse wrote nothing and left the WAL usable.
	mustSave(t, w, HardState{}, mkEnts(4, 6, 2))
}

func TestReplayProtocol(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, smallSegments)
	w := mustCreate(t, dir, opts)
	if _, _, _, err := w.ReadAll(); !errors.Is(err, ErrReplay) {
		t.Fatalf("ReadAll after Create = %v, want ErrReplay", err)
	}
	mustSave(t, w, HardState{Term: 1}, mkEnts(1, 2, 1))
	mustClose(t, w)
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
	if err := w.Save(HardState{Term: 2}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Save after Close = %v, want ErrClosed", err)
	}

	w, err := Open(dir, SnapshotMark{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, w)
	if err := w.Save(HardState{}, mkEnts(3, 3, 1)); !errors.Is(err, ErrReplay) {
		t.Fatalf("Save before ReadAll = %v, want ErrReplay", err)
	}
	if err := w.SaveSnapshot(SnapshotMark{Index: 1, Term: 1}); !errors.Is(err, ErrReplay) {
		t.Fatalf("SaveSnapshot before ReadAll = %v, want ErrReplay", err)
	}
	if _, _, _, err := w.ReadAll(); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := w.ReadAll(); !errors.Is(err, ErrReplay) {
		t.Fatalf("second ReadAll = %v, want ErrReplay", err)
	}
	mustSave(t, w, HardState{}, mkEnts(3, 3, 1))
}

func TestCreateOpenErrors(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, smallSegments)
	if _, err := Open(dir, SnapshotMark{}, opts); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Open of an empty dir = %v, want ErrNotExist", err)
	}
	if _, err := Open(filepath.Join(dir, "nope"), SnapshotMark{}, opts); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Open of a missing dir = %v, want ErrNotExist", err)
	}
	w := mustCreate(t, filepath.Join(dir, "a", "b"), opts) // creates parents
	mustClose(t, w)
	if _, err := Create(filepath.Join(dir, "a", "b"), nil, opts); !errors.Is(err, ErrExist) {
		t.Fatalf("Create over a WAL = %v, want ErrExist", err)
	}
	if _, err := Create(dir, nil, Options{SegmentSize: -1}); err == nil {
		t.Fatal("Create with a negative SegmentSize succeeded")
	}
}

// A crash while creating a segment leaves a temporary file that Open removes.
func TestOpenRemovesUnfinishedSegment(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, smallSegments)
	w := mustCreate(t, dir, opts)
	mustSave(t, w, HardState{Term: 1}, mkEnts(1, 3, 1))
	mustClose(t, w)
	tmp := filepath.Join(dir, Segment{Seq: 1, Index: 4}.Name()+tmpExt)
	if err := os.WriteFile(tmp, []byte("half a header"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, _, ents := reopen(t, dir, SnapshotMark{}, opts)
	defer mustClose(t, w)
	equalEntries(t, ents, mkEnts(1, 3, 1))
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("unfinished segment still there: %v", err)
	}
}

func TestManySegmentsAndReleaseTo(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, 1024)
	w := mustCreate(t, dir, opts)
	var want []Entry
	for i := uint64(1); i <= 300; i += 3 {
		ents := mkEnts(i, i+2, 1)
		want = append(want, ents...)
		mustSave(t, w, HardState{Term: 1, Vote: 1, Commit: i - 1}, ents)
		if i == 151 {
			if err := w.SaveSnapshot(SnapshotMark{Index: 150, Term: 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := segmentFiles(t, dir)
	if len(before) < 10 {
		t.Fatalf("only %d segments with SegmentSize 1024", len(before))
	}
	// Every segment is named after the index its first entry had.
	for _, p := range before[1:] {
		s, _ := ParseSegment(filepath.Base(p))
		recs := records(t, p)
		if recs[0].typ != recordHeader {
			t.Fatalf("%s starts with %s", p, recs[0].typ)
		}
		if len(recs) > 1 && recs[1].typ == recordEntry {
			b, _ := os.ReadFile(p)
			r, _, _ := decodeRecord(b[recs[1].off:])
			e, _ := decodeEntry(r.payload)
			if e.Index != s.Index {
				t.Fatalf("%s: first entry %d", p, e.Index)
			}
		}
	}

	if err := w.ReleaseTo(150); err != nil {
		t.Fatal(err)
	}
	after := segmentFiles(t, dir)
	if len(after) >= len(before) || after[len(after)-1] != before[len(before)-1] {
		t.Fatalf("ReleaseTo(150): %d segments before, %d after; active %s", len(before), len(after), after[len(after)-1])
	}
	first, _ := ParseSegment(filepath.Base(after[0]))
	if first.Index > 151 {
		t.Fatalf("released the segment holding entry 151: the oldest starts at %d", first.Index)
	}
	// Nothing past the recorded snapshot mark is ever released: the entries
	// after it are what a restart replays.
	if err := w.ReleaseTo(1 << 40); err != nil {
		t.Fatal(err)
	}
	if got := segmentFiles(t, dir); !slices.Equal(got, after) {
		t.Fatalf("ReleaseTo beyond the mark released more: %v, want %v", got, after)
	}
	mustClose(t, w)

	w, _, ents := reopen(t, dir, SnapshotMark{Index: 150, Term: 1}, opts)
	mustClose(t, w)
	equalEntries(t, ents, want[150:])
}

func TestReleaseToThenReplayFromSnapshot(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, 2048)
	w := mustCreate(t, dir, opts)
	for i := uint64(1); i <= 200; i += 4 {
		mustSave(t, w, HardState{Term: 1, Vote: 1, Commit: i + 3}, mkEnts(i, i+3, 1))
	}
	mark := SnapshotMark{Index: 120, Term: 1}
	if err := w.SaveSnapshot(mark); err != nil {
		t.Fatal(err)
	}
	n := len(segmentFiles(t, dir))
	if err := w.ReleaseTo(mark.Index); err != nil {
		t.Fatal(err)
	}
	if got := len(segmentFiles(t, dir)); got >= n {
		t.Fatalf("ReleaseTo removed nothing (%d segments)", got)
	}
	mustClose(t, w)

	w, hs, ents := reopen(t, dir, mark, opts)
	defer mustClose(t, w)
	equalEntries(t, ents, mkEnts(121, 200, 1))
	if want := (HardState{Term: 1, Vote: 1, Commit: 200}); hs != want {
		t.Fatalf("hard state %+v, want %+v", hs, want)
	}
	if _, err := Open(dir, SnapshotMark{}, opts); !errors.Is(err, ErrSnapshotNotFound) {
		t.Fatalf("Open from the start after a release = %v, want ErrSnapshotNotFound", err)
	}
}

func TestReplayFromSnapshot(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, smallSegments)
	w := mustCreate(t, dir, opts)
	mustSave(t, w, HardState{Term: 1, Commit: 10}, mkEnts(1, 10, 1))
	mark := SnapshotMark{Index: 7, Term: 1}
	if err := w.SaveSnapshot(mark); err != nil {
		t.Fatal(err)
	}
	mustSave(t, w, HardState{Term: 1, Commit: 12}, mkEnts(11, 12, 1))
	mustClose(t, w)

	w, hs, ents := reopen(t, dir, mark, opts)
	equalEntries(t, ents, mkEnts(8, 12, 1))
	if hs.Commit != 12 {
		t.Fatalf("commit %d, want 12", hs.Commit)
	}
	mustClose(t, w)

	for _, from := range []SnapshotMark{{Index: 7, Term: 2}, {Index: 5, Term: 1}, {Index: 99, Term: 1}} {
		if _, err := Open(dir, from, opts); !errors.Is(err, ErrSnapshotNotFound) {
			t.Errorf("Open(%+v) = %v, want ErrSnapshotNotFound", from, err)
		}
	}
	marks, err := ValidSnapshotMarks(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := []SnapshotMark{{}, mark}; !equalMarks(marks, want) {
		t.Fatalf("ValidSnapshotMarks = %v, want %v", marks, want)
	}
}

func equalMarks(a, b []SnapshotMark) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A follower that receives a snapshot jumps its log forward.
func TestFollowerSnapshotJump(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, smallSegments)
	w := mustCreate(t, dir, opts)
	mustSave(t, w, HardState{Term: 1, Commit: 3}, mkEnts(1, 5, 1))
	mark := SnapshotMark{Index: 1000, Term: 4}
	if err := w.SaveSnapshot(mark); err != nil {
		t.Fatal(err)
	}
	mustSave(t, w, HardState{Term: 4, Commit: 1001}, mkEnts(1001, 1003, 4))
	mustClose(t, w)

	w, _, ents := reopen(t, dir, mark, opts)
	equalEntries(t, ents, mkEnts(1001, 1003, 4))
	mustClose(t, w)
	// Entries 6..1000 exist only in the snapshot.
	if _, err := Open(dir, SnapshotMark{}, opts); !errors.Is(err, ErrSnapshotNotFound) {
		t.Fatalf("Open from the start across a snapshot jump = %v, want ErrSnapshotNotFound", err)
	}
}

// A snapshot holds only committed entries, so recording its mark also
// records its index as committed: the mark is valid for a restart even if
// no HardState with that commit index was saved (the caller need not sync
// commit-only HardStates).
func TestSnapshotMarkRecordsCommit(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, smallSegments)
	w := mustCreate(t, dir, opts)
	mustSave(t, w, HardState{Term: 1, Commit: 3}, mkEnts(1, 5, 1))
	if err := w.SaveSnapshot(SnapshotMark{Index: 5, Term: 1}); err != nil {
		t.Fatal(err)
	}
	mustClose(t, w)
	marks, err := ValidSnapshotMarks(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := []SnapshotMark{{}, {Index: 5, Term: 1}}; !equalMarks(marks, want) {
		t.Fatalf("ValidSnapshotMarks = %v, want %v", marks, want)
	}
	w, hs, _ := reopen(t, dir, SnapshotMark{Index: 5, Term: 1}, opts)
	mustClose(t, w)
	if hs.Commit != 5 || hs.Term != 1 {
		t.Fatalf("hard state after the mark = %+v, want term 1 commit 5", hs)
	}
}

func TestMissingSegment(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, 512)
	w := mustCreate(t, dir, opts)
	for i := uint64(1); i <= 60; i += 2 {
		mustSave(t, w, HardState{Term: 1, Commit: i}, mkEnts(i, i+1, 1))
	}
	mustClose(t, w)
	segs := segmentFiles(t, dir)
	if len(segs) < 4 {
		t.Fatalf("%d segments", len(segs))
	}
	if err := os.Remove(segs[2]); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, SnapshotMark{}, opts)
	ce := wantCorruption(t, err, segs[3], 0)
	if !strings.Contains(ce.Reason, "missing") {
		t.Fatalf("reason %q", ce.Reason)
	}
}

// A segment that lost its last records, cut at a record boundary, is caught
// by the next segment's header.
func TestLostTailOfEarlierSegment(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, 512)
	w := mustCreate(t, dir, opts)
	for i := uint64(1); i <= 40; i += 2 {
		mustSave(t, w, HardState{Term: 1, Commit: i}, mkEnts(i, i+1, 1))
	}
	mustClose(t, w)
	segs := segmentFiles(t, dir)
	recs := records(t, segs[1])
	if err := os.Truncate(segs[1], recs[len(recs)-1].off); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, SnapshotMark{}, opts)
	wantCorruption(t, err, segs[2], 0)
}

func TestBadSegmentHeader(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, smallSegments)
	w := mustCreate(t, dir, opts)
	mustSave(t, w, HardState{Term: 1}, mkEnts(1, 3, 1))
	mustClose(t, w)
	seg := segmentFiles(t, dir)[0]
	patchFile(t, seg, func(b []byte) []byte { b[headerSize+2] ^= 0x40; return b })
	_, err := Open(dir, SnapshotMark{}, opts)
	wantCorruption(t, err, seg, 0)

	// A segment renamed to the wrong sequence is caught by its header.
	dir2 := t.TempDir()
	w = mustCreate(t, dir2, opts)
	mustClose(t, w)
	seg = segmentFiles(t, dir2)[0]
	bad := filepath.Join(dir2, Segment{Seq: 3, Index: 1}.Name())
	if err := os.Rename(seg, bad); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir2, SnapshotMark{}, opts)
	wantCorruption(t, err, bad, 0)
}

// A record with a sound checksum but a type this build does not know was
// written by a newer Larch: that is not corruption.
func TestUnknownRecordType(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, smallSegments)
	w := mustCreate(t, dir, opts)
	mustSave(t, w, HardState{Term: 1}, mkEnts(1, 1, 1))
	off := w.off
	mustClose(t, w)
	seg := segmentFiles(t, dir)[0]
	patchFile(t, seg, func(b []byte) []byte {
		rec, start := beginRecord(nil)
		rec = append(rec, "from the future"...)
		rec = finishRecord(rec, start, recordTypeLast+1, flagBatchEnd)
		copy(b[off:], rec)
		return b
	})
	_, err := Open(dir, SnapshotMark{}, opts)
	if !errors.Is(err, ErrUnsupportedVersion) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrUnsupportedVersion and not ErrCorrupt", err)
	}
}

// After a failed sync the WAL refuses every append; what was durable before
// survives a restart.
func TestFailedSyncIsSticky(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, smallSegments)
	ffs := &faultFS{FS: OSFS}
	opts.FS = ffs
	w := mustCreate(t, dir, opts)
	mustSave(t, w, HardState{Term: 1, Commit: 2}, mkEnts(1, 2, 1))
	ffs.failSync = func(string) bool { return true }
	if err := w.Save(HardState{Term: 1, Commit: 3}, mkEnts(3, 3, 1)); !errors.Is(err, errInjected) {
		t.Fatalf("Save with a failing sync = %v", err)
	}
	ffs.failSync = nil
	if err := w.Save(HardState{}, mkEnts(3, 3, 1)); !errors.Is(err, errInjected) {
		t.Fatalf("Save after a failed sync = %v, want the same error", err)
	}
	if err := w.SaveSnapshot(SnapshotMark{Index: 1, Term: 1}); !errors.Is(err, errInjected) {
		t.Fatalf("SaveSnapshot after a failed sync = %v, want the same error", err)
	}
	_ = w.Close()

	opts.FS = nil
	w, _, ents := reopen(t, dir, SnapshotMark{}, opts)
	defer mustClose(t, w)
	// Entry 3 reached the page cache, so it may be there: a failed fsync
	// promises nothing either way. Entries 1..2 must be.
	if len(ents) < 2 {
		t.Fatalf("lost durable entries: %s", describe(ents))
	}
	equalEntries(t, ents[:2], mkEnts(1, 2, 1))
}

// Concurrent SaveSnapshot+ReleaseTo (a background snapshotter) and Save (the
// Raft loop) must not race; run with -race.
func TestConcurrentReleaseAndSave(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, 1024)
	w := mustCreate(t, dir, opts)
	done := make(chan error)
	const n = 300
	go func() {
		for i := uint64(1); i <= n; i++ {
			if err := w.Save(HardState{Term: 1, Commit: i}, mkEnts(i, i, 1)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < 50; i++ {
		if err := w.ReleaseTo(uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := w.SaveSnapshot(SnapshotMark{Index: 250, Term: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.ReleaseTo(250); err != nil {
		t.Fatal(err)
	}
	mustClose(t, w)
	w, _, ents := reopen(t, dir, SnapshotMark{Index: 250, Term: 1}, opts)
	defer mustClose(t, w)
	equalEntries(t, ents, mkEnts(251, n, 1))
}
