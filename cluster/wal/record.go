package wal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// recordType says what a record's payload holds. The values are on disk:
// only append to this list, never renumber or reuse a value.
type recordType uint8

const (
	// recordInvalid is never written: a zeroed header marks the end of the log.
	recordInvalid recordType = 0
	// recordHeader opens every segment: format version, the segment's own
	// sequence and previous index, the metadata, the HardState and the
	// snapshot mark in force when the segment was created.
	recordHeader recordType = 1
	// recordEntry is one Raft entry: index, term, opaque data.
	recordEntry recordType = 2
	// recordHardState is a Raft HardState: term, vote, commit.
	recordHardState recordType = 3
	// recordSnapshot records that a snapshot file exists at a mark.
	recordSnapshot recordType = 4

	// recordTypeLast is the last type this build knows. A record with a
	// sound checksum and a higher type was written by a newer Larch.
	recordTypeLast = recordSnapshot
)

func (t recordType) String() string {
	switch t {
	case recordHeader:
		return "header"
	case recordEntry:
		return "entry"
	case recordHardState:
		return "hardstate"
	case recordSnapshot:
		return "snapshot"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Record flags. Only append.
const (
	// flagBatchEnd marks the last record of one write+fdatasync: the last
	// record of a Save, a SaveSnapshot's record, a segment header. A record
	// written after a batch end was written after that batch was durable;
	// this is what lets Open tell a torn final write from corruption.
	flagBatchEnd uint8 = 1 << 0

	knownFlags = flagBatchEnd
)

const (
	// headerSize is the size of a record header; see doc.go for its layout.
	headerSize = 16
	// recordAlign: every record starts, and so ends, at a multiple of 8.
	recordAlign = 8
	// maxPayload bounds one record's payload. The length field could hold
	// 4 GiB; nothing this large belongs in one Raft entry.
	maxPayload = 1<<31 - 1

	// formatVersion is the segment format this build writes and the
	// highest it reads.
	formatVersion uint32 = 1
)

// The payload sizes of the fixed-size records.
const (
	entryFixedSize = 16                  // index, term
	hardStateSize  = 24                  // term, vote, commit
	snapshotSize   = 16                  // index, term
	segHeaderFixed = 4 + 8 + 8 + 24 + 16 // version, seq, prevIndex, hard state, mark
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record is one decoded record; payload aliases the buffer it came from.
type record struct {
	typ      recordType
	flags    uint8
	reserved uint16
	payload  []byte
}

// alignUp rounds n up to recordAlign.
func alignUp(n uint64) uint64 { return (n + recordAlign - 1) &^ (recordAlign - 1) }

// beginRecord reserves a header at the end of b; the caller appends the
// payload and calls finishRecord with the returned start.
func beginRecord(b []byte) ([]byte, int) {
	start := len(b)
	return append(b, make([]byte, headerSize)...), start
}

// finishRecord fills in the header of the record that began at start, whose
// payload is everything after the header, and pads it to recordAlign.
func finishRecord(b []byte, start int, typ recordType, flags uint8) []byte {
	n := len(b) - start - headerSize
	if n > maxPayload {
		panic(fmt.Sprintf("wal: record payload of %d bytes exceeds %d", n, maxPayload))
	}
	h := b[start : start+headerSize]
	binary.LittleEndian.PutUint32(h[0:4], uint32(n))
	h[4] = byte(typ)
	h[5] = flags
	h[6], h[7] = 0, 0
	hcrc := crc32.Checksum(h[0:8], castagnoli)
	binary.LittleEndian.PutUint32(h[8:12], hcrc)
	binary.LittleEndian.PutUint32(h[12:16], crc32.Update(hcrc, castagnoli, b[start+headerSize:]))
	pad := int(alignUp(uint64(headerSize+n))) - headerSize - n
	return append(b, make([]byte, pad)...)
}

// recordSize is the on-disk size of a record with an n-byte payload.
func recordSize(n int) int { return int(alignUp(uint64(headerSize + n))) }

// decodeStatus is how the bytes at an offset fail to be a record.
type decodeStatus uint8

const (
	decodeOK decodeStatus = iota
	// decodeZero: the header is all zeros (or the few bytes left are).
	decodeZero
	// decodeShort: the bytes end inside the header, or inside the record a
	// sound header announces.
	decodeShort
	// decodeBadHeader: the header's checksum does not match; its length
	// cannot be trusted.
	decodeBadHeader
	// decodeBadData: the header is sound (so the record's extent is known)
	// but the payload's checksum does not match or the padding is not zero.
	decodeBadData
)

func (s decodeStatus) String() string {
	switch s {
	case decodeOK:
		return "ok"
	case decodeZero:
		return "zeroed record header"
	case decodeShort:
		return "record cut short"
	case decodeBadHeader:
		return "record header checksum mismatch"
	case decodeBadData:
		return "record checksum mismatch"
	}
	return fmt.Sprintf("decodeStatus(%d)", uint8(s))
}

// decodeRecord decodes the record at the start of b. n is the record's size
// including padding, set for decodeOK and decodeBadData (the statuses with a
// sound header that fits in b). It never panics and never allocates: the
// payload aliases b.
func decodeRecord(b []byte) (r record, n int, st decodeStatus) {
	if len(b) < headerSize {
		if allZero(b) {
			return record{}, 0, decodeZero
		}
		return record{}, 0, decodeShort
	}
	h := b[:headerSize]
	hcrc := crc32.Checksum(h[0:8], castagnoli)
	if hcrc != binary.LittleEndian.Uint32(h[8:12]) {
		if allZero(h) {
			return record{}, 0, decodeZero
		}
		return record{}, 0, decodeBadHeader
	}
	length := uint64(binary.LittleEndian.Uint32(h[0:4]))
	size := alignUp(headerSize + length)
	if size > uint64(len(b)) {
		return record{}, 0, decodeShort
	}
	n = int(size)
	payload := b[headerSize : headerSize+length]
	if crc32.Update(hcrc, castagnoli, payload) != binary.LittleEndian.Uint32(h[12:16]) ||
		!allZero(b[headerSize+length:n]) {
		return record{}, n, decodeBadData
	}
	return record{
		typ:      recordType(h[4]),
		flags:    h[5],
		reserved: binary.LittleEndian.Uint16(h[6:8]),
		payload:  payload,
	}, n, decodeOK
}

// known reports an error for a record whose checksums are sound but whose
// type, flags or reserved bytes this build does not know: a newer Larch
// wrote it, which is not corruption.
func (r record) known() error {
	if r.typ == recordInvalid || r.typ > recordTypeLast || r.flags&^knownFlags != 0 || r.reserved != 0 {
		return fmt.Errorf("%w: record %s, flags %#x, reserved %#x", ErrUnsupportedVersion, r.typ, r.flags, r.reserved)
	}
	return nil
}

var zeros [4096]byte

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeros))
		if !bytes.Equal(b[:n], zeros[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// segmentHeader is the payload of a recordHeader.
type segmentHeader struct {
	version   uint32
	seq       uint64
	prevIndex uint64 // the log's last index when the segment was created
	hs        HardState
	mark      SnapshotMark
	metadata  []byte
}

func appendSegmentHeader(b []byte, h segmentHeader) []byte {
	b, start := beginRecord(b)
	b = binary.LittleEndian.AppendUint32(b, h.version)
	b = binary.LittleEndian.AppendUint64(b, h.seq)
	b = binary.LittleEndian.AppendUint64(b, h.prevIndex)
	b = appendHardStatePayload(b, h.hs)
	b = appendMarkPayload(b, h.mark)
	b = append(b, h.metadata...)
	return finishRecord(b, start, recordHeader, flagBatchEnd)
}

func decodeSegmentHeader(p []byte) (segmentHeader, error) {
	if len(p) < 4 {
		return segmentHeader{}, fmt.Errorf("segment header of %d bytes", len(p))
	}
	h := segmentHeader{version: binary.LittleEndian.Uint32(p[0:4])}
	if h.version > formatVersion {
		return h, fmt.Errorf("%w: segment format %d, this build reads up to %d", ErrUnsupportedVersion, h.version, formatVersion)
	}
	if h.version == 0 || len(p) < segHeaderFixed {
		return h, fmt.Errorf("segment header of %d bytes with version %d", len(p), h.version)
	}
	h.seq = binary.LittleEndian.Uint64(p[4:12])
	h.prevIndex = binary.LittleEndian.Uint64(p[12:20])
	h.hs = decodeHardStatePayload(p[20:44])
	h.mark = decodeMarkPayload(p[44:60])
	h.metadata = p[60:]
	return h, nil
}

func appendEntry(b []byte, e Entry, flags uint8) []byte {
	b, start := beginRecord(b)
	b = binary.LittleEndian.AppendUint64(b, e.Index)
	b = binary.LittleEndian.AppendUint64(b, e.Term)
	b = append(b, e.Data...)
	return finishRecord(b, start, recordEntry, flags)
}

// decodeEntry decodes an entry payload; Data aliases p.
func decodeEntry(p []byte) (Entry, error) {
	if len(p) < entryFixedSize {
		return Entry{}, fmt.Errorf("entry payload of %d bytes", len(p))
	}
	return Entry{
		Index: binary.LittleEndian.Uint64(p[0:8]),
		Term:  binary.LittleEndian.Uint64(p[8:16]),
		Data:  p[16:],
	}, nil
}

func appendHardState(b []byte, hs HardState, flags uint8) []byte {
	b, start := beginRecord(b)
	b = appendHardStatePayload(b, hs)
	return finishRecord(b, start, recordHardState, flags)
}

func appendHardStatePayload(b []byte, hs HardState) []byte {
	b = binary.LittleEndian.AppendUint64(b, hs.Term)
	b = binary.LittleEndian.AppendUint64(b, hs.Vote)
	return binary.LittleEndian.AppendUint64(b, hs.Commit)
}

func decodeHardStatePayload(p []byte) HardState {
	return HardState{
		Term:   binary.LittleEndian.Uint64(p[0:8]),
		Vote:   binary.LittleEndian.Uint64(p[8:16]),
		Commit: binary.LittleEndian.Uint64(p[16:24]),
	}
}

func appendSnapshot(b []byte, m SnapshotMark, flags uint8) []byte {
	b, start := beginRecord(b)
	b = appendMarkPayload(b, m)
	return finishRecord(b, start, recordSnapshot, flags)
}

func appendMarkPayload(b []byte, m SnapshotMark) []byte {
	b = binary.LittleEndian.AppendUint64(b, m.Index)
	return binary.LittleEndian.AppendUint64(b, m.Term)
}

func decodeMarkPayload(p []byte) SnapshotMark {
	return SnapshotMark{
		Index: binary.LittleEndian.Uint64(p[0:8]),
		Term:  binary.LittleEndian.Uint64(p[8:16]),
	}
}
