package lease

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"slices"
)

// The snapshot format. Formats are only appended to.
//
// Version 1:
//
//	magic   8 bytes "LARCHLSE"
//	format  uint32 big-endian, 1
//	length  uint64 big-endian, bytes of body
//	body    uvarint lease count, then per lease by ascending ID: varint ID,
//	        varint TTL, varint remaining TTL, uvarint key count, then per key
//	        in ascending order: uvarint length, bytes
//	crc     uint32 big-endian, CRC-32C of everything before it
const (
	snapshotMagic  = "LARCHLSE"
	snapshotFormat = 1
	headerSize     = 8 + 4 + 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt marks a snapshot that does not decode.
var ErrCorrupt = errors.New("lease: corrupt snapshot")

// WriteTo writes the whole state as a snapshot.
func (s *Store) WriteTo(w io.Writer) (int64, error) {
	s.mu.RLock()
	var body []byte
	body = binary.AppendUvarint(body, uint64(len(s.leases)))
	for _, id := range slices.Sorted(maps.Keys(s.leases)) {
		l := s.leases[id]
		body = binary.AppendVarint(body, int64(id))
		body = binary.AppendVarint(body, l.ttl)
		body = binary.AppendVarint(body, l.remaining)
		body = binary.AppendUvarint(body, uint64(len(l.keys)))
		for _, k := range slices.Sorted(maps.Keys(l.keys)) {
			body = binary.AppendUvarint(body, uint64(len(k)))
			body = append(body, k...)
		}
	}
	s.mu.RUnlock()
	out := make([]byte, 0, headerSize+len(body)+4)
	out = append(out, snapshotMagic...)
	out = binary.BigEndian.AppendUint32(out, snapshotFormat)
	out = binary.BigEndian.AppendUint64(out, uint64(len(body)))
	out = append(out, body...)
	out = binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
	n, err := w.Write(out)
	return int64(n), err
}

// Restore reads a snapshot written by WriteTo into a new Store. Damage
// gives an error wrapping ErrCorrupt; a partial store is never returned.
func Restore(r io.Reader) (*Store, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if string(hdr[:8]) != snapshotMagic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrCorrupt, hdr[:8])
	}
	if f := binary.BigEndian.Uint32(hdr[8:12]); f != snapshotFormat {
		return nil, fmt.Errorf("%w: format %d (this build reads %d)", ErrCorrupt, f, snapshotFormat)
	}
	length := binary.BigEndian.Uint64(hdr[12:])
	body, err := io.ReadAll(io.LimitReader(r, int64(min(length, 1<<62))))
	if err != nil || uint64(len(body)) != length {
		return nil, fmt.Errorf("%w: body truncated at %d of %d bytes", ErrCorrupt, len(body), length)
	}
	var tail [4]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil {
		return nil, fmt.Errorf("%w: checksum: %v", ErrCorrupt, err)
	}
	crc := crc32.Update(crc32.Checksum(hdr[:], castagnoli), castagnoli, body)
	if got := binary.BigEndian.Uint32(tail[:]); got != crc {
		return nil, fmt.Errorf("%w: checksum %08x, want %08x", ErrCorrupt, got, crc)
	}
	d := decoder{r: bytes.NewReader(body)}
	s := New()
	n := d.count()
	for range n {
		id := ID(d.varint())
		l := &lease{ttl: d.varint(), remaining: d.varint(), keys: map[string]struct{}{}}
		for range d.count() {
			l.keys[d.str()] = struct{}{}
		}
		if d.err != nil {
			break
		}
		if _, dup := s.leases[id]; dup || id == NoLease {
			return nil, fmt.Errorf("%w: lease %d twice or zero", ErrCorrupt, id)
		}
		s.leases[id] = l
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, d.err)
	}
	if d.r.Len() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last lease", ErrCorrupt, d.r.Len())
	}
	return s, nil
}

type decoder struct {
	r   *bytes.Reader
	err error
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadVarint(d.r)
	if err != nil {
		d.err = err
	}
	return v
}

// count reads a uvarint count that cannot exceed the bytes left (each
// counted item takes at least one byte).
func (d *decoder) count() uint64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(d.r)
	if err != nil {
		d.err = err
		return 0
	}
	if v > uint64(d.r.Len()) {
		d.err = fmt.Errorf("count %d with %d bytes left", v, d.r.Len())
		return 0
	}
	return v
}

func (d *decoder) str() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.err = err
	}
	return string(b)
}
