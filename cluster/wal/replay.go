package wal

import (
	"bytes"
	"errors"
	"fmt"
)

// replay rebuilds a log's state from its records, in order, and checks that
// they tell a consistent story: every segment header agrees with the end of
// the previous segment, entries never leave a gap.
type replay struct {
	from SnapshotMark
	// keepEntries is false when only the marks and the hard state matter
	// (ValidSnapshotMarks).
	keepEntries bool

	started   bool
	metadata  []byte
	hs        HardState
	mark      SnapshotMark // the last one recorded
	lastIndex uint64       // the last entry's index, or a later snapshot mark's
	ents      []Entry      // the entries after from.Index, contiguous
	matched   bool         // from was recorded

	// marks lists every mark seen, with the position (among the replayed
	// segments) of the last segment where it was seen.
	marks []seenMark

	// The segment being replayed.
	pos  int
	seg  Segment
	path string
}

type seenMark struct {
	mark SnapshotMark
	pos  int
}

// visit is the callback scanSegment calls for every sound record.
func (rp *replay) visit(off int64, r record) error {
	if off == 0 && r.typ != recordHeader {
		return corruptf(rp.path, off, "segment starts with a %s record, not a header", r.typ)
	}
	switch r.typ {
	case recordHeader:
		if off != 0 {
			return corruptf(rp.path, off, "segment header in the middle of a segment")
		}
		return rp.header(r.payload)
	case recordEntry:
		e, err := decodeEntry(r.payload)
		if err != nil {
			return corruptf(rp.path, off, "%v", err)
		}
		if e.Index == 0 || e.Index > rp.lastIndex+1 {
			return corruptf(rp.path, off, "entry %d does not follow index %d", e.Index, rp.lastIndex)
		}
		rp.lastIndex = e.Index
		if rp.keepEntries {
			if err := rp.addEntry(e); err != nil {
				return fmt.Errorf("%s at offset %d: %w", rp.path, off, err)
			}
		}
	case recordHardState:
		if len(r.payload) != hardStateSize {
			return corruptf(rp.path, off, "hard state payload of %d bytes", len(r.payload))
		}
		rp.hs = decodeHardStatePayload(r.payload)
	case recordSnapshot:
		if len(r.payload) != snapshotSize {
			return corruptf(rp.path, off, "snapshot payload of %d bytes", len(r.payload))
		}
		rp.sawMark(decodeMarkPayload(r.payload))
		rp.lastIndex = max(rp.lastIndex, rp.mark.Index)
	default:
		// scanSegment lets through only the types of this build.
		panic(fmt.Sprintf("wal: replay of an unknown record type %d at %s:%d", r.typ, rp.path, off))
	}
	return nil
}

func (rp *replay) header(p []byte) error {
	h, err := decodeSegmentHeader(p)
	if errors.Is(err, ErrUnsupportedVersion) {
		return fmt.Errorf("%s: %w", rp.path, err)
	}
	if err != nil {
		return corruptf(rp.path, 0, "bad segment header: %v", err)
	}
	if h.seq != rp.seg.Seq || rp.seg.Index == 0 || h.prevIndex != rp.seg.Index-1 {
		return corruptf(rp.path, 0, "header says sequence %d after index %d, the file name says sequence %d from index %d",
			h.seq, h.prevIndex, rp.seg.Seq, rp.seg.Index)
	}
	if !rp.started {
		rp.started = true
		rp.metadata = bytes.Clone(h.metadata)
		rp.hs = h.hs
		rp.lastIndex = h.prevIndex
		rp.sawMark(h.mark)
		return nil
	}
	// A segment is created after the previous one's last write was durable,
	// with the state that write left; a difference means records of the
	// previous segment are missing.
	switch {
	case h.prevIndex != rp.lastIndex:
		return corruptf(rp.path, 0, "header says the log ended at index %d, the previous segment ends at %d", h.prevIndex, rp.lastIndex)
	case h.hs != rp.hs:
		return corruptf(rp.path, 0, "header has hard state %+v, the previous segment ends with %+v", h.hs, rp.hs)
	case h.mark != rp.mark:
		return corruptf(rp.path, 0, "header has snapshot mark %+v, the previous segment ends with %+v", h.mark, rp.mark)
	case !bytes.Equal(h.metadata, rp.metadata):
		return corruptf(rp.path, 0, "header metadata differs from the previous segment's")
	}
	return nil
}

func (rp *replay) sawMark(m SnapshotMark) {
	rp.mark = m
	if m == rp.from {
		rp.matched = true
	}
	for i := range rp.marks {
		if rp.marks[i].mark == m {
			rp.marks[i].pos = rp.pos
			return
		}
	}
	rp.marks = append(rp.marks, seenMark{m, rp.pos})
}

// addEntry applies Raft's overwrite rule: an entry at index i replaces every
// entry read before at index >= i. Entries at or below from are dropped.
func (rp *replay) addEntry(e Entry) error {
	if e.Index <= rp.from.Index {
		rp.ents = rp.ents[:0]
		return nil
	}
	pos := e.Index - rp.from.Index - 1
	if pos > uint64(len(rp.ents)) {
		// A snapshot mark moved the log past entries that replay from
		// rp.from would need.
		return fmt.Errorf("%w: entries %d to %d are only in the snapshot at %+v; replay must start from it or a later one",
			ErrSnapshotNotFound, rp.from.Index+uint64(len(rp.ents))+1, e.Index-1, rp.mark)
	}
	e.Data = bytes.Clone(e.Data) // the segment buffer is reused
	rp.ents = append(rp.ents[:pos], e)
	return nil
}
