package wal

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	segmentExt = ".wal"
	tmpExt     = ".tmp"
	// sectorSize is the smallest unit a disk writes atomically; a torn
	// write leaves whole sectors unwritten, which read as zeros in a
	// preallocated segment.
	sectorSize = 512
)

// Segment is the name of one segment file: "%016x-%016x.wal" of Seq and
// Index.
type Segment struct {
	// Seq numbers the segments of a log from 0, without gaps.
	Seq uint64
	// Index is the index the segment's first entry was expected to have
	// when it was created (the log's last index + 1). Raft may overwrite an
	// uncommitted tail, so the first entry actually in it may be lower.
	Index uint64
}

// Name returns the segment's file name.
func (s Segment) Name() string { return fmt.Sprintf("%016x-%016x%s", s.Seq, s.Index, segmentExt) }

// ParseSegment parses a segment file name; ok is false for any other name.
func ParseSegment(name string) (s Segment, ok bool) {
	base, found := strings.CutSuffix(name, segmentExt)
	if !found || len(base) != 33 || base[16] != '-' {
		return Segment{}, false
	}
	seq, err1 := strconv.ParseUint(base[:16], 16, 64)
	idx, err2 := strconv.ParseUint(base[17:], 16, 64)
	if err1 != nil || err2 != nil {
		return Segment{}, false
	}
	s = Segment{Seq: seq, Index: idx}
	return s, s.Name() == name // lower-case hex only: one name per segment
}

// listSegments returns the segments in dir ordered by Seq, and the leftover
// temporary files of an interrupted segment creation.
func listSegments(fsys FS, dir string, log *slog.Logger) (segs []Segment, tmps []string, err error) {
	names, err := fsys.List(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, name := range names {
		if s, ok := ParseSegment(name); ok {
			segs = append(segs, s)
			continue
		}
		if base, ok := strings.CutSuffix(name, tmpExt); ok {
			if _, ok := ParseSegment(base); ok {
				tmps = append(tmps, name)
				continue
			}
		}
		if strings.HasSuffix(name, segmentExt) {
			log.Warn("wal: ignoring a file with an unexpected name", "path", filepath.Join(dir, name))
		}
	}
	slices.SortFunc(segs, func(a, b Segment) int {
		return cmp.Or(cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.Index, b.Index))
	})
	return segs, tmps, nil
}

// startFor returns the position in segs (ordered by Seq) of the segment a
// replay of the entries after index must start with: the last one created
// when the log ended at or before index. Every later segment is needed;
// every earlier one is not. It returns -1 if there is no such segment.
func startFor(segs []Segment, index uint64) int {
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i].Index <= index+1 {
			return i
		}
	}
	return -1
}

// checkSequence returns a *CorruptionError if segs does not number its
// segments consecutively.
func checkSequence(dir string, segs []Segment) error {
	for i := 1; i < len(segs); i++ {
		prev, s := segs[i-1], segs[i]
		switch {
		case s.Seq == prev.Seq:
			return corruptf(filepath.Join(dir, s.Name()), 0, "two segments with sequence %d (the other is %s)", s.Seq, prev.Name())
		case s.Seq != prev.Seq+1:
			return corruptf(filepath.Join(dir, s.Name()), 0, "segment with sequence %d is missing (the previous one is %s)", prev.Seq+1, prev.Name())
		}
	}
	return nil
}

// readFile reads a whole file into buf, reusing its capacity.
func readFile(f File, buf []byte) ([]byte, error) {
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	if int64(int(size)) != size || size < 0 {
		return nil, fmt.Errorf("file of %d bytes", size)
	}
	buf = slices.Grow(buf[:0], int(size))[:size]
	n, err := f.ReadAt(buf, 0)
	if n == len(buf) {
		err = nil
	} else if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return buf, err
}

// tear describes the torn tail found at the end of the last segment.
type tear struct {
	offset int64 // where the log ends now
	reason string
	// dropped counts the sound records found after the damage, all of them
	// parts of the final, never acknowledged write.
	dropped int
}

// scanSegment decodes the records of one segment held in buf and calls
// visit for each sound one, in order. It returns the offset just after the
// last record of the log in this segment.
//
// Damage (anything that is neither a sound record nor the zeroed end of the
// log) is a *CorruptionError, except in the last segment when it looks like
// a torn final write (see tornTail): then scanSegment returns the tear and
// end is its offset; the caller decides whether to truncate.
func scanSegment(buf []byte, path string, last bool, visit func(off int64, r record) error) (end int64, t *tear, err error) {
	off := 0
	for off < len(buf) {
		r, n, st := decodeRecord(buf[off:])
		if st == decodeOK {
			if r.typ == recordInvalid {
				return 0, nil, corruptf(path, int64(off), "record of type 0 with a sound checksum")
			}
			if err := r.known(); err != nil {
				return 0, nil, fmt.Errorf("%s at offset %d: %w", path, off, err)
			}
			if err := visit(int64(off), r); err != nil {
				return 0, nil, err
			}
			off += n
			continue
		}
		if st == decodeZero && allZero(buf[off:]) {
			break // the zeroed (preallocated, or never written) end of the log
		}
		if off == 0 {
			// The header is written and synced before the segment gets its
			// name, so not even the last segment may have a torn one.
			return 0, nil, corruptf(path, 0, "bad segment header: %s", st)
		}
		if !last {
			return 0, nil, corruptf(path, int64(off), "%s in a segment that is not the last", st)
		}
		if t := tornTail(buf, off, n, st); t != nil {
			return int64(off), t, nil
		}
		return 0, nil, corruptf(path, int64(off), "%s, and sound records of later writes follow", st)
	}
	if off == 0 {
		return 0, nil, corruptf(path, 0, "segment without a header")
	}
	return int64(off), nil, nil
}

// tornTail decides whether the damage found at off in the last segment (a
// record that decoded as st, of size n when its header is sound) is what a
// crash during the final write leaves behind, and if so describes the tear.
// It returns nil for corruption.
//
// A crash can only damage the final batch: every batch is written after the
// previous one's fdatasync returned. So the damage is a tear when
//   - no sound record follows it (the final batch was cut short, or its
//     unwritten sectors read as zeros), or
//   - the damaged area holds a zero-filled sector chunk (the mark of a
//     sector the disk never wrote, as etcd's isTornEntry looks for) and
//     none of the sound records after it ends a batch, except the very last
//     (the kernel wrote the pages of the final batch out of order).
//
// A sound record after the damage that ends a batch and is followed by more
// records proves the damage predates an acknowledged write: corruption.
func tornTail(buf []byte, off, n int, st decodeStatus) *tear {
	if st == decodeShort {
		return &tear{offset: int64(off), reason: st.String()}
	}
	resume := off + recordAlign // the length cannot be trusted
	if st == decodeBadData {
		resume = off + n
	}
	var (
		firstSound = -1
		sound      int
		endsBefore bool // a batch end that is not the last sound record
		lastEnds   bool
	)
	for p := resume; p < len(buf); {
		r, n, st := decodeRecord(buf[p:])
		if st != decodeOK || r.typ == recordInvalid {
			p = nextCandidate(buf, p)
			continue
		}
		if firstSound < 0 {
			firstSound = p
		}
		sound++
		endsBefore = endsBefore || lastEnds
		lastEnds = r.flags&flagBatchEnd != 0
		p += n
	}
	if sound == 0 {
		return &tear{offset: int64(off), reason: st.String()}
	}
	if !endsBefore && hasZeroSector(buf, off, firstSound) {
		return &tear{offset: int64(off), reason: st.String() + ", with unwritten sectors", dropped: sound}
	}
	return nil
}

// nextCandidate returns the next aligned offset after p where a record could
// start, skipping zeroed areas quickly.
func nextCandidate(buf []byte, p int) int {
	p += recordAlign
	for p+recordAlign <= len(buf) && binary.LittleEndian.Uint64(buf[p:]) == 0 {
		p += recordAlign
	}
	return p
}

// hasZeroSector reports whether buf[from:to], cut at the file's sector
// boundaries, has a piece that is all zeros and reaches the end of its
// sector. The piece before to is left out: to starts a sound record, so its
// sector was written.
func hasZeroSector(buf []byte, from, to int) bool {
	for p := from; ; {
		next := (p/sectorSize + 1) * sectorSize
		if next > to {
			return false
		}
		if allZero(buf[p:next]) {
			return true
		}
		p = next
	}
}
