package mvcc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"sync"

	"github.com/google/btree"
)

// Snapshot is a consistent, read-only view of a Store at one revision,
// including its history since the last compaction. It is safe for
// concurrent use and stays valid while the Store keeps taking writes.
type Snapshot struct {
	tree       *btree.BTreeG[keyEntry]
	rev        int64
	compactRev int64

	// bodyLen is the encoded body's length, counted once (EncodedLen).
	bodyLenOnce sync.Once
	bodyLen     int64
}

// Snapshot returns a view of the store as it is now. It costs O(1): the
// index is cloned copy-on-write, and bumping the epoch makes the next write
// to each key copy its version array instead of extending it in place.
func (s *Store) Snapshot() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
	return &Snapshot{tree: s.tree.Clone(), rev: s.rev, compactRev: s.compactRev}
}

// Rev returns the revision the snapshot was taken at.
func (v *Snapshot) Rev() int64 { return v.rev }

// The snapshot format. Formats are only appended to: a new layout takes a
// new snapshotFormat and Restore keeps reading the old ones.
//
// Version 1, fixed-size integers big-endian:
//
//	magic    8 bytes  "LARCHMVC"
//	format   uint32   1
//	length   uint64   size of body in bytes
//	body     varint rev, varint compactRev, uvarint key count, then per key
//	         in ascending order: uvarint len, key, uvarint version count,
//	         then per version, oldest first: uvarint main, uvarint sub,
//	         uvarint version (0 = tombstone, and nothing follows),
//	         uvarint create, varint lease, uvarint len, value
//	crc      uint32   CRC-32C of everything before it
//
// The length lets Restore stop exactly at the end of the snapshot, so it can
// be embedded in a larger stream.
const (
	snapshotMagic  = "LARCHMVC"
	snapshotFormat = 1
	headerSize     = 8 + 4 + 8
)

// EncodedLen is the number of bytes WriteTo writes. The first call walks
// the snapshot once to count them.
func (v *Snapshot) EncodedLen() int64 { return headerSize + v.encodedBodyLen() + 4 }

func (v *Snapshot) encodedBodyLen() int64 {
	v.bodyLenOnce.Do(func() {
		var size encoder
		v.encodeBody(&size)
		v.bodyLen = size.n
	})
	return v.bodyLen
}

// KeyCount is the number of keys the snapshot holds, deleted ones with
// history included.
func (v *Snapshot) KeyCount() int { return v.tree.Len() }

// WriteTo writes the snapshot in the format above. It reads only the
// snapshot, so it may run on any goroutine while the Store takes writes.
func (v *Snapshot) WriteTo(w io.Writer) (int64, error) {
	cw := &crcWriter{w: w, crc: crc32.New(castagnoli)}
	bw := bufio.NewWriterSize(cw, 64<<10)
	var hdr [headerSize]byte
	copy(hdr[:], snapshotMagic)
	binary.BigEndian.PutUint32(hdr[8:], snapshotFormat)
	binary.BigEndian.PutUint64(hdr[12:], uint64(v.encodedBodyLen()))
	enc := encoder{w: bw}
	enc.raw(hdr[:])
	v.encodeBody(&enc)
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	var trailer [4]byte
	binary.BigEndian.PutUint32(trailer[:], cw.crc.Sum32())
	n, err := w.Write(trailer[:])
	return cw.n + int64(n), err
}

func (v *Snapshot) encodeBody(e *encoder) {
	e.varint(v.rev)
	e.varint(v.compactRev)
	e.uvarint(uint64(v.tree.Len()))
	v.tree.Ascend(func(ke keyEntry) bool {
		e.bytes(ke.key)
		e.uvarint(uint64(len(ke.versions)))
		for i := range ke.versions {
			ver := &ke.versions[i]
			e.uvarint(uint64(ver.rev.Main))
			e.uvarint(uint64(ver.rev.Sub))
			e.uvarint(uint64(ver.ver))
			if ver.tombstone() {
				continue
			}
			e.uvarint(uint64(ver.create))
			e.varint(ver.lease)
			e.bytes(ver.value)
		}
		return true
	})
}

// encoder writes to w, or only counts when w is nil; WriteTo runs the same
// code twice so that the length in the header cannot disagree with the body.
// Write errors stick in the bufio.Writer and surface at Flush.
type encoder struct {
	w   *bufio.Writer
	n   int64
	tmp [binary.MaxVarintLen64]byte
}

func (e *encoder) raw(p []byte) {
	e.n += int64(len(p))
	if e.w != nil {
		e.w.Write(p)
	}
}

func (e *encoder) uvarint(x uint64) { e.raw(e.tmp[:binary.PutUvarint(e.tmp[:], x)]) }
func (e *encoder) varint(x int64)   { e.raw(e.tmp[:binary.PutVarint(e.tmp[:], x)]) }

func (e *encoder) bytes(p []byte) {
	e.uvarint(uint64(len(p)))
	e.raw(p)
}

type crcWriter struct {
	w   io.Writer
	crc hash.Hash32
	n   int64
}

func (c *crcWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.crc.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// Restore builds a store from a snapshot written by WriteTo. It reads
// exactly the snapshot's bytes from r. Anything wrong with the input (magic,
// format version, checksum, truncation, or a state the store could not have
// produced) gives an error wrapping ErrCorrupt.
func Restore(r io.Reader) (*Store, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, readError("header", err)
	}
	if string(hdr[:8]) != snapshotMagic {
		return nil, corruptf("not an mvcc snapshot (magic %q)", hdr[:8])
	}
	if f := binary.BigEndian.Uint32(hdr[8:]); f != snapshotFormat {
		return nil, corruptf("unsupported format version %d (this build reads %d)", f, snapshotFormat)
	}
	size := binary.BigEndian.Uint64(hdr[12:])
	if size > math.MaxInt64 {
		return nil, corruptf("body length %d", size)
	}
	crc := crc32.New(castagnoli)
	crc.Write(hdr[:])
	body := io.TeeReader(io.LimitReader(r, int64(size)), crc)
	d := decoder{r: bufio.NewReaderSize(body, 64<<10), left: int64(size)}
	s := d.store()
	if d.err != nil {
		return nil, d.err
	}
	if d.left != 0 {
		return nil, corruptf("%d bytes left after the last key", d.left)
	}
	// d.left == 0: the bufio.Reader pulled the whole body through crc.
	var trailer [4]byte
	if _, err := io.ReadFull(r, trailer[:]); err != nil {
		return nil, readError("checksum", err)
	}
	if stored, computed := binary.BigEndian.Uint32(trailer[:]), crc.Sum32(); stored != computed {
		return nil, corruptf("checksum mismatch: stored %08x, computed %08x", stored, computed)
	}
	return s, nil
}

// readError classifies a failed read: running out of bytes means the
// snapshot is truncated, which is corruption; anything else is the reader's
// own failure (a disk error, say) and is passed on as such, so callers can
// tell "the data is bad" from "the data could not be read".
func readError(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return corruptf("%s: truncated", what)
	}
	return fmt.Errorf("mvcc: reading snapshot %s: %w", what, err)
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// decoder reads a snapshot body. The first error sticks in err and turns
// every later read into a no-op, so store() checks it only where it matters.
type decoder struct {
	r    *bufio.Reader
	left int64 // body bytes not read yet
	err  error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = corruptf(format, args...)
	}
}

// readFailed records a failed read of the body, as readError classifies it.
func (d *decoder) readFailed(err error) {
	if d.err == nil {
		d.err = readError("body", err)
	}
}

// ReadByte makes d an io.ByteReader for binary.ReadUvarint.
func (d *decoder) ReadByte() (byte, error) {
	if d.left <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	b, err := d.r.ReadByte()
	if err != nil {
		d.readFailed(err)
		return 0, io.ErrUnexpectedEOF
	}
	d.left--
	return b, nil
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, err := binary.ReadUvarint(d)
	if err != nil {
		d.fail("body: %v", err)
	}
	return x
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	x, err := binary.ReadVarint(d)
	if err != nil {
		d.fail("body: %v", err)
	}
	return x
}

// int reads a uvarint that must fit an int64.
func (d *decoder) int() int64 {
	x := d.uvarint()
	if x > math.MaxInt64 {
		d.fail("integer %d out of range", x)
	}
	return int64(x)
}

// bytes reads a length-prefixed byte string, nil when empty. The buffer
// grows with the data actually read, so a lying length cannot make a short
// input allocate much.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || n == 0 {
		return nil
	}
	if n > uint64(d.left) {
		d.fail("length %d exceeds the %d bytes left", n, d.left)
		return nil
	}
	const chunk = 1 << 20
	p := make([]byte, 0, min(n, chunk))
	for uint64(len(p)) < n {
		k := int(min(n-uint64(len(p)), chunk))
		p = slices.Grow(p, k)
		if _, err := io.ReadFull(d.r, p[len(p):len(p)+k]); err != nil {
			d.readFailed(err)
			return nil
		}
		p = p[:len(p)+k]
	}
	d.left -= int64(n)
	return p
}

func (d *decoder) store() *Store {
	rev, compactRev := d.varint(), d.varint()
	nkeys := d.uvarint()
	if d.err != nil {
		return nil
	}
	if rev < 1 || compactRev < -1 || compactRev > rev {
		d.fail("revision %d, compacted at %d", rev, compactRev)
		return nil
	}
	s := New()
	s.rev, s.compactRev = rev, compactRev
	var prev []byte
	for k := uint64(0); k < nkeys && d.err == nil; k++ {
		key := d.bytes()
		n := d.uvarint()
		if d.err != nil {
			break
		}
		if len(key) == 0 || (prev != nil && bytes.Compare(prev, key) >= 0) {
			d.fail("key #%d is empty or out of order", k)
			break
		}
		if n == 0 {
			d.fail("key %q has no versions", key)
			break
		}
		// n and d.left are claims; let append grow past a modest start.
		vs := make([]version, 0, min(n, 256))
		for j := uint64(0); j < n && d.err == nil; j++ {
			var v version
			v.rev.Main, v.rev.Sub, v.ver = d.int(), d.int(), d.int()
			if v.ver != 0 {
				v.create, v.lease, v.value = d.int(), d.varint(), d.bytes()
			}
			if d.err == nil {
				d.checkVersion(key, vs, &v, rev)
			}
			vs = append(vs, v)
		}
		e := keyEntry{key: key, versions: vs}
		s.tree.ReplaceOrInsert(e)
		s.size += entrySize(&e)
		if e.latest() != nil {
			s.live++
		}
		prev = key
	}
	return s
}

// checkVersion refuses a version the store could not have written after
// the versions before it (vs), so that a restored store keeps its invariants.
func (d *decoder) checkVersion(key []byte, vs []version, v *version, rev int64) {
	var p *version
	if len(vs) > 0 {
		p = &vs[len(vs)-1]
	}
	var bad string
	switch {
	case v.rev.Main < 1 || v.rev.Main > rev:
		bad = "revision out of range"
	case p != nil && (v.rev.Main < p.rev.Main || (v.rev.Main == p.rev.Main && v.rev.Sub <= p.rev.Sub)):
		bad = "revisions out of order"
	case v.tombstone() && p != nil && p.tombstone():
		bad = "two tombstones in a row"
	case v.tombstone():
	case v.create < 1 || v.create > v.rev.Main:
		bad = "create revision out of range"
	case p != nil && p.tombstone() && (v.ver != 1 || v.create != v.rev.Main):
		bad = "re-created key does not start a new generation"
	case p != nil && !p.tombstone() && (v.ver != p.ver+1 || v.create != p.create):
		bad = "version does not follow the previous one"
	}
	if bad != "" {
		d.fail("key %q at revision %d_%d: %s", key, v.rev.Main, v.rev.Sub, bad)
	}
}

var _ io.WriterTo = (*Snapshot)(nil)
