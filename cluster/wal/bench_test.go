package wal

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkSave measures Save with a real fdatasync in t.TempDir: one
// 256-byte entry per Save (a lone proposal), and 100 of them (a group
// commit under load). Each Save also carries a changed HardState, as a
// Raft Ready usually does. Segment rolls are included, amortized.
func BenchmarkSave(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("entries=%d/size=256", batch), func(b *testing.B) {
			opts, _ := testOpts(b, 0)
			w := mustCreate(b, b.TempDir(), opts)
			defer mustClose(b, w)
			data := bytes.Repeat([]byte{0xab}, 256)
			ents := make([]Entry, batch)
			for i := range ents {
				ents[i].Term, ents[i].Data = 1, data
			}
			b.SetBytes(int64(batch * len(data)))
			b.ReportAllocs()
			next := uint64(1)
			for b.Loop() {
				for i := range ents {
					ents[i].Index = next + uint64(i)
				}
				next += uint64(batch)
				if err := w.Save(HardState{Term: 1, Vote: 1, Commit: next - 1}, ents); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(next-1)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkReplay measures Open+ReadAll of one full default-size segment of
// 256-byte entries: the restart cost per 64 MiB of log.
func BenchmarkReplay(b *testing.B) {
	opts, _ := testOpts(b, DefaultSegmentSize)
	dir := b.TempDir()
	w := mustCreate(b, dir, opts)
	data := bytes.Repeat([]byte{0xab}, 256)
	ents := make([]Entry, 1000)
	next := uint64(1)
	for w.off+int64(len(ents)*recordSize(entryFixedSize+len(data))) < opts.SegmentSize {
		for i := range ents {
			ents[i] = Entry{Index: next, Term: 1, Data: data}
			next++
		}
		mustSave(b, w, HardState{Term: 1, Commit: next - 1}, ents)
	}
	mustClose(b, w)
	b.SetBytes(opts.SegmentSize)
	for b.Loop() {
		w, err := Open(dir, SnapshotMark{}, opts)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, got, err := w.ReadAll(); err != nil || uint64(len(got)) != next-1 {
			b.Fatalf("replayed %d entries, %v", len(got), err)
		}
		mustClose(b, w)
	}
	b.ReportMetric(float64(next-1), "entries")
}
