package wal

import (
	"errors"
	"fmt"
	"os"
	"testing"
)

// tornBase writes a WAL whose final Save (one entry and a hard state) is
// the batch the tests damage. It returns the dir, the entries and hard
// states of the batches before the final one, and the final batch.
func tornBase(t *testing.T, opts Options) (dir string, before []Entry, hsBefore HardState, last []Entry, hsLast HardState) {
	dir = t.TempDir()
	w := mustCreate(t, dir, opts)
	mustSave(t, w, HardState{Term: 1, Vote: 1, Commit: 1}, mkEnts(1, 3, 1))
	mustSave(t, w, HardState{Term: 1, Vote: 1, Commit: 3}, mkEnts(4, 5, 1))
	mustSave(t, w, HardState{Term: 2, Vote: 2, Commit: 5}, mkEnts(6, 6, 2))
	mustClose(t, w)
	return dir, mkEnts(1, 5, 1), HardState{Term: 1, Vote: 1, Commit: 3}, mkEnts(6, 6, 2), HardState{Term: 2, Vote: 2, Commit: 5}
}

// TestTornTailEveryCut cuts the final batch at every byte offset, either by
// truncating the file (a non-preallocated file whose size got ahead) or by
// zeroing from the cut on (the unwritten sectors of a preallocated one).
// Every time the WAL must reopen with every record before the damage, take
// new appends, and replay them after another reopen.
func TestTornTailEveryCut(t *testing.T) {
	for _, mode := range []string{"truncate", "zero"} {
		t.Run(mode, func(t *testing.T) {
			opts, _ := testOpts(t, 64<<10)
			base, before, hsBefore, last, hsLast := tornBase(t, opts)
			seg := segmentFiles(t, base)[0]
			orig, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			recs := records(t, seg)
			entryRec, hsRec := recs[len(recs)-2], recs[len(recs)-1]
			if entryRec.typ != recordEntry || hsRec.typ != recordHardState || hsRec.flags != flagBatchEnd {
				t.Fatalf("unexpected final batch %+v %+v", entryRec, hsRec)
			}
			for cut := entryRec.off; cut < hsRec.end; cut++ {
				t.Run(fmt.Sprint(cut), func(t *testing.T) {
					opts, logs := testOpts(t, 64<<10)
					dir := copyDir(t, base)
					seg := segmentFiles(t, dir)[0]
					// intact reports whether the damage leaves a record as written.
					intact := func(r recordAt) bool { return cut >= r.end }
					if mode == "truncate" {
						if err := os.Truncate(seg, cut); err != nil {
							t.Fatal(err)
						}
					} else {
						patchFile(t, seg, func(b []byte) []byte { clear(b[cut:hsRec.end]); return b })
						intact = func(r recordAt) bool { return cut >= r.end || allZero(orig[max(cut, r.off):r.end]) }
					}
					wantEnts, wantHS := before, hsBefore
					var damaged *recordAt
					switch {
					case !intact(entryRec):
						damaged = &entryRec
					case !intact(hsRec):
						damaged = &hsRec
						wantEnts = append(append([]Entry(nil), before...), last...)
					default:
						wantEnts, wantHS = append(append([]Entry(nil), before...), last...), hsLast
					}

					w, hs, ents := reopen(t, dir, SnapshotMark{}, opts)
					equalEntries(t, ents, wantEnts)
					if hs != wantHS {
						t.Fatalf("hard state %+v, want %+v", hs, wantHS)
					}
					ws := logs.warnings()
					if damaged != nil && cut > damaged.off {
						if len(ws) != 1 || ws[0]["path"] != seg || ws[0]["offset"] != damaged.off {
							t.Fatalf("warnings %v, want one with path %s and offset %d", ws, seg, damaged.off)
						}
					} else if len(ws) != 0 {
						t.Fatalf("unexpected warnings %v", ws)
					}

					next := wantEnts[len(wantEnts)-1].Index + 1
					more := mkEnts(next, next+1, 3)
					hsNew := HardState{Term: 3, Vote: 3, Commit: next}
					mustSave(t, w, hsNew, more)
					mustClose(t, w)
					w, hs, ents = reopen(t, dir, SnapshotMark{}, opts)
					defer mustClose(t, w)
					equalEntries(t, ents, append(append([]Entry(nil), wantEnts...), more...))
					if hs != hsNew {
						t.Fatalf("hard state after the new append %+v, want %+v", hs, hsNew)
					}
					if ws := logs.warnings(); len(ws) > 1 {
						t.Fatalf("the second reopen warned again: %v", ws)
					}
				})
			}
		})
	}
}

// TestTornWriteInjected tears the final Save through the FS seam, at many
// lengths, then restarts on the real file system.
func TestTornWriteInjected(t *testing.T) {
	for keep := 0; keep < 300; keep += 7 {
		t.Run(fmt.Sprint(keep), func(t *testing.T) {
			dir := t.TempDir()
			opts, _ := testOpts(t, smallSegments)
			ffs := &faultFS{FS: OSFS}
			opts.FS = ffs
			w := mustCreate(t, dir, opts)
			mustSave(t, w, HardState{Term: 1, Commit: 4}, mkEnts(1, 4, 1))
			ffs.tearWrite = func(_ string, p []byte) (int, bool) { return min(keep, len(p)-1), true }
			if err := w.Save(HardState{Term: 1, Commit: 9}, mkEnts(5, 9, 1)); !errors.Is(err, errInjected) {
				t.Fatalf("torn Save = %v", err)
			}
			_ = w.Close() // the crash

			opts.FS = nil
			w, hs, ents := reopen(t, dir, SnapshotMark{}, opts)
			if len(ents) < 4 || hs.Commit > 4 && hs.Commit != 9 {
				t.Fatalf("after a torn write: entries %s, hard state %+v", describe(ents), hs)
			}
			equalEntries(t, ents, mkEnts(1, uint64(len(ents)), 1)) // a prefix of the batch at most
			mustSave(t, w, HardState{Term: 2, Commit: 3}, mkEnts(uint64(len(ents))+1, 12, 2))
			mustClose(t, w)
			w, _, ents2 := reopen(t, dir, SnapshotMark{}, opts)
			defer mustClose(t, w)
			equalEntries(t, ents2, append(ents, mkEnts(uint64(len(ents))+1, 12, 2)...))
		})
	}
}

// A crash can leave the pages of the final write persisted out of order: a
// zeroed page in the middle of the batch, sound records after it. That is a
// tear. The same damage in an earlier batch is corruption: the batch after
// it was only written once the damaged one was durable.
func TestTornPagesOutOfOrder(t *testing.T) {
	const page = 4096
	for _, final := range []bool{true, false} {
		t.Run(fmt.Sprintf("final=%v", final), func(t *testing.T) {
			dir := t.TempDir()
			opts, logs := testOpts(t, 1<<20)
			w := mustCreate(t, dir, opts)
			mustSave(t, w, HardState{Term: 1, Commit: 2}, mkEnts(1, 10, 1))
			start := w.off
			mustSave(t, w, HardState{Term: 1, Commit: 10}, mkEnts(11, 200, 1)) // ~14 KiB
			end := w.off
			if !final {
				mustSave(t, w, HardState{Term: 1, Commit: 200}, mkEnts(201, 202, 1))
			}
			mustClose(t, w)
			seg := segmentFiles(t, dir)[0]
			p := (start/page + 2) * page // a page well inside the batch
			if p+page >= end {
				t.Fatalf("batch [%d, %d) too small", start, end)
			}
			var firstHit recordAt
			for _, r := range records(t, seg) {
				if r.end > p {
					firstHit = r
					break
				}
			}
			patchFile(t, seg, func(b []byte) []byte { clear(b[p : p+page]); return b })

			w, err := Open(dir, SnapshotMark{}, opts)
			if !final {
				wantCorruption(t, err, seg, firstHit.off)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer mustClose(t, w)
			_, _, ents, _ := w.ReadAll()
			if len(ents) < 10 || len(ents) >= 200 {
				t.Fatalf("replayed %s", describe(ents))
			}
			equalEntries(t, ents, mkEnts(1, uint64(len(ents)), 1))
			ws := logs.warnings()
			if len(ws) != 1 || ws[0]["offset"] != firstHit.off || ws[0]["discarded_sound_records"].(int64) == 0 {
				t.Fatalf("warnings %v, want one at offset %d that counts discarded records", ws, firstHit.off)
			}
		})
	}
}

// A flipped byte in a record that sound records of later writes follow is
// corruption, reported with the file and the record's offset.
func TestCorruptionFlippedByte(t *testing.T) {
	type target struct {
		name  string
		batch int // which Save's records (0-based); -1: the last Save
		rec   int // which record in it
		field string
	}
	for _, tc := range []target{
		{"earlier batch, payload", 4, 1, "payload"},
		{"earlier batch, length", 4, 1, "length"},
		{"earlier batch, checksum", 2, 0, "crc"},
		{"earlier batch, hard state", 3, 3, "payload"},
		{"final batch, not its last record", -1, 2, "payload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts, _ := testOpts(t, smallSegments)
			w := mustCreate(t, dir, opts)
			var batches [][2]int64
			for i := uint64(0); i < 8; i++ {
				start := w.off
				mustSave(t, w, HardState{Term: 1, Commit: 3 * i}, mkEnts(3*i+1, 3*i+3, 1))
				batches = append(batches, [2]int64{start, w.off})
			}
			mustClose(t, w)
			seg := segmentFiles(t, dir)[0]
			b := batches[len(batches)-1]
			if tc.batch >= 0 {
				b = batches[tc.batch]
			}
			var in []recordAt
			for _, r := range records(t, seg) {
				if r.off >= b[0] && r.end <= b[1] {
					in = append(in, r)
				}
			}
			r := in[tc.rec]
			at := map[string]int64{"payload": r.off + headerSize + (r.end-r.off-headerSize)/2, "length": r.off, "crc": r.off + 13}[tc.field]
			patchFile(t, seg, func(b []byte) []byte { b[at] ^= 0x10; return b })
			_, err := Open(dir, SnapshotMark{}, opts)
			ce := wantCorruption(t, err, seg, r.off)
			want := fmt.Sprintf("wal: corrupt record in %s at offset %d: ", seg, r.off)
			if got := ce.Error(); len(got) < len(want) || got[:len(want)] != want {
				t.Fatalf("Error() = %q, want prefix %q", got, want)
			}
		})
	}
}

// Damage in a segment that is not the last is always corruption, even at
// its very end.
func TestCorruptionInEarlierSegment(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, 600)
	w := mustCreate(t, dir, opts)
	for i := uint64(1); i <= 30; i += 3 {
		mustSave(t, w, HardState{Term: 1, Commit: i}, mkEnts(i, i+2, 1))
	}
	mustClose(t, w)
	segs := segmentFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	recs := records(t, segs[1])
	lastRec := recs[len(recs)-1]
	patchFile(t, segs[1], func(b []byte) []byte { b[lastRec.end-9] ^= 1; return b })
	_, err := Open(dir, SnapshotMark{}, opts)
	wantCorruption(t, err, segs[1], lastRec.off)
}

// A zeroed header in the middle of the log, with data after it, is not the
// end of the log.
func TestZeroedHeaderIsNotTheEnd(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, smallSegments)
	w := mustCreate(t, dir, opts)
	for i := uint64(1); i <= 12; i += 3 {
		mustSave(t, w, HardState{Term: 1, Commit: i}, mkEnts(i, i+2, 1))
	}
	mustClose(t, w)
	seg := segmentFiles(t, dir)[0]
	r := records(t, seg)[3]
	patchFile(t, seg, func(b []byte) []byte { clear(b[r.off : r.off+headerSize]); return b })
	_, err := Open(dir, SnapshotMark{}, opts)
	wantCorruption(t, err, seg, r.off)
}

// The last record of the log is the one place where damage cannot be told
// from a torn write: a flipped byte there is truncated, with a warning.
// This documents that limit (see doc.go).
func TestDamagedLastRecordIsTruncated(t *testing.T) {
	dir := t.TempDir()
	opts, logs := testOpts(t, smallSegments)
	w := mustCreate(t, dir, opts)
	mustSave(t, w, HardState{Term: 1, Commit: 1}, mkEnts(1, 3, 1))
	mustSave(t, w, HardState{}, mkEnts(4, 4, 1))
	mustClose(t, w)
	seg := segmentFiles(t, dir)[0]
	recs := records(t, seg)
	last := recs[len(recs)-1]
	patchFile(t, seg, func(b []byte) []byte { b[last.off+headerSize+3] ^= 0x80; return b })
	w, _, ents := reopen(t, dir, SnapshotMark{}, opts)
	defer mustClose(t, w)
	equalEntries(t, ents, mkEnts(1, 3, 1))
	if ws := logs.warnings(); len(ws) != 1 || ws[0]["offset"] != last.off {
		t.Fatalf("warnings %v", ws)
	}
}

// A crash between creating a segment and writing to it: the new segment
// holds only its header; a torn first batch after it is a tear as usual.
func TestTornFirstBatchOfNewSegment(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOpts(t, 256)
	w := mustCreate(t, dir, opts)
	mustSave(t, w, HardState{Term: 1, Commit: 1}, mkEnts(1, 6, 1)) // fills the first segment
	mustSave(t, w, HardState{Term: 1, Commit: 6}, mkEnts(7, 9, 1)) // rolls, then writes
	mustClose(t, w)
	segs := segmentFiles(t, dir)
	if len(segs) != 2 {
		t.Fatalf("%d segments", len(segs))
	}
	recs := records(t, segs[1])
	if err := os.Truncate(segs[1], recs[1].off+5); err != nil {
		t.Fatal(err)
	}
	w, hs, ents := reopen(t, dir, SnapshotMark{}, opts)
	defer mustClose(t, w)
	equalEntries(t, ents, mkEnts(1, 6, 1))
	if hs.Commit != 1 {
		t.Fatalf("hard state %+v", hs)
	}
	mustSave(t, w, HardState{Term: 1, Commit: 7}, mkEnts(7, 7, 2))
}
