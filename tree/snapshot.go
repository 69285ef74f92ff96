package tree

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"time"
)

// Snapshot file layout (all integers little-endian unless varint):
//
//	magic   8 bytes  "larchv2\x00"
//	version uint32   snapshotVersion
//	length  uint64   payload length
//	payload          see below
//	crc     uint32   CRC-32C of everything before it
//
// Payload (version 1):
//
//	uvarint index
//	uvarint node count, then each node but the root, parents before
//	        children: string path, byte flags (1 dir, 2 has TTL),
//	        uvarint createdIndex, uvarint modifiedIndex,
//	        [string value: files], [time expiration: TTL]
//	uvarint event count, then each kept event, oldest first: string action,
//	        byte flags (1 refresh, 2 has prevNode), uvarint EtcdIndex,
//	        nodeExtern node, [nodeExtern prevNode]
//
// string = uvarint length + bytes; time = varint Unix seconds + uvarint
// nanoseconds (UTC); nodeExtern = string key, byte flags (1 has value,
// 2 dir, 4 has expiration), [string value], [time], varint ttl, uvarint
// modifiedIndex, uvarint createdIndex (history events never carry children).
//
// A snapshot holds what etcd's v2 snapshot holds, minus the stats: the tree
// with absolute expirations, the index, and the event history, so that a
// member restored from it answers watches with a waitIndex like the others.
// Watchers are connections, not state; they are not kept.
//
// The format is versioned; only append to it (a new version for any
// change), and keep reading the old ones.
const (
	snapshotMagic   = "larchv2\x00"
	snapshotVersion = 1
	headerLen       = 8 + 4 + 8
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// WriteTo writes a snapshot of the store to w. The state is encoded in
// memory under the read lock, so writes wait only for the encoding, never
// for w.
func (s *Store) WriteTo(w io.Writer) (int64, error) {
	var e encoder
	e.buf.WriteString(snapshotMagic)
	e.u32(snapshotVersion)
	e.u64(0) // length, patched below
	s.mu.RLock()
	e.uvarint(s.index)
	var nodes []*node
	var collect func(*node)
	collect = func(n *node) {
		for _, c := range n.sortedChildren() {
			nodes = append(nodes, c)
			if c.dir {
				collect(c)
			}
		}
	}
	collect(s.root)
	e.uvarint(uint64(len(nodes)))
	for _, n := range nodes {
		e.str(n.path)
		var flags byte
		if n.dir {
			flags |= 1
		}
		if !n.expire.IsZero() {
			flags |= 2
		}
		e.buf.WriteByte(flags)
		e.uvarint(n.createdIndex)
		e.uvarint(n.modifiedIndex)
		if !n.dir {
			e.str(n.value)
		}
		if !n.expire.IsZero() {
			e.time(n.expire)
		}
	}
	e.uvarint(uint64(s.hist.size))
	for i := 0; i < s.hist.size; i++ {
		ev := s.hist.at(i)
		e.str(ev.Action)
		var flags byte
		if ev.Refresh {
			flags |= 1
		}
		if ev.PrevNode != nil {
			flags |= 2
		}
		e.buf.WriteByte(flags)
		e.uvarint(ev.EtcdIndex)
		e.extern(ev.Node)
		if ev.PrevNode != nil {
			e.extern(ev.PrevNode)
		}
	}
	s.mu.RUnlock()

	b := e.buf.Bytes()
	binary.LittleEndian.PutUint64(b[12:20], uint64(len(b)-headerLen))
	e.u32(crc32.Checksum(b, crcTable))
	n, err := w.Write(e.buf.Bytes())
	return int64(n), err
}

type encoder struct {
	buf bytes.Buffer
	tmp [binary.MaxVarintLen64]byte
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.tmp[:4], v)
	e.buf.Write(e.tmp[:4])
}

func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.tmp[:8], v)
	e.buf.Write(e.tmp[:8])
}

func (e *encoder) uvarint(v uint64) { e.buf.Write(binary.AppendUvarint(e.tmp[:0], v)) }
func (e *encoder) varint(v int64)   { e.buf.Write(binary.AppendVarint(e.tmp[:0], v)) }

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.buf.WriteString(s)
}

func (e *encoder) time(t time.Time) {
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

func (e *encoder) extern(n *NodeExtern) {
	if len(n.Nodes) > 0 {
		panic(fmt.Sprintf("tree: history event node %q has children", n.Key))
	}
	e.str(n.Key)
	var flags byte
	if n.Value != nil {
		flags |= 1
	}
	if n.Dir {
		flags |= 2
	}
	if n.Expiration != nil {
		flags |= 4
	}
	e.buf.WriteByte(flags)
	if n.Value != nil {
		e.str(*n.Value)
	}
	if n.Expiration != nil {
		e.time(*n.Expiration)
	}
	e.varint(n.TTL)
	e.uvarint(n.ModifiedIndex)
	e.uvarint(n.CreatedIndex)
}

// Restore reads a snapshot written by WriteTo into a new store. Any damage
// gives an error wrapping ErrCorrupt (or ErrUnknownVersion); Restore never
// returns a partial store.
func Restore(r io.Reader) (*Store, error) {
	var hdr [headerLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if string(hdr[:8]) != snapshotMagic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrCorrupt, hdr[:8])
	}
	if v := binary.LittleEndian.Uint32(hdr[8:12]); v != snapshotVersion {
		return nil, fmt.Errorf("%w: version %d (this build reads %d)", ErrUnknownVersion, v, snapshotVersion)
	}
	length := binary.LittleEndian.Uint64(hdr[12:20])
	// ReadAll grows with the data actually read, so a lying length costs no
	// memory up front.
	payload, err := io.ReadAll(io.LimitReader(r, int64(min(length, 1<<62))))
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrCorrupt, err)
	}
	if uint64(len(payload)) != length {
		return nil, fmt.Errorf("%w: payload truncated at %d of %d bytes", ErrCorrupt, len(payload), length)
	}
	var tail [4]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil {
		return nil, fmt.Errorf("%w: checksum: %v", ErrCorrupt, err)
	}
	crc := crc32.Update(crc32.Checksum(hdr[:], crcTable), crcTable, payload)
	if got := binary.LittleEndian.Uint32(tail[:]); got != crc {
		return nil, fmt.Errorf("%w: checksum %08x, want %08x", ErrCorrupt, got, crc)
	}
	s, err := decodePayload(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return s, nil
}

func decodePayload(b []byte) (*Store, error) {
	d := decoder{b: b}
	s := New()
	s.index = d.uvarint()
	nn := d.count(4)
	for i := uint64(0); i < nn && d.err == nil; i++ {
		p := d.str()
		flags := d.byte()
		created, modified := d.uvarint(), d.uvarint()
		var value string
		var expire time.Time
		if flags&1 == 0 {
			value = d.str()
		}
		if flags&2 != 0 {
			expire = d.time()
		}
		if d.err != nil {
			break
		}
		switch {
		case flags&^3 != 0:
			return nil, fmt.Errorf("node %q: unknown flags %#x", p, flags)
		case p == "/" || clean(p) != p:
			return nil, fmt.Errorf("node %q: not a clean key", p)
		case created > s.index || modified > s.index || created > modified:
			return nil, fmt.Errorf("node %q: indexes %d/%d beyond store index %d", p, created, modified, s.index)
		case flags&2 != 0 && expire.IsZero():
			return nil, fmt.Errorf("node %q: zero expiration", p)
		}
		dirName, name := path.Split(p)
		parent, err := s.getLocked(clean(dirName))
		if err != nil || !parent.dir {
			return nil, fmt.Errorf("node %q: parent is missing or not a dir", p)
		}
		if parent.child(name) != nil {
			return nil, fmt.Errorf("node %q: duplicate", p)
		}
		var n *node
		if flags&1 != 0 {
			n = newDir(p, created, parent, expire)
		} else {
			n = newFile(p, value, created, parent, expire)
		}
		n.modifiedIndex = modified
		parent.children.Insert(name, n)
		if !expire.IsZero() {
			s.ttls.Insert(expiryKey(expire, p), n)
		}
	}
	ne := d.count(8)
	if ne > historyCapacity {
		return nil, fmt.Errorf("%d history events, at most %d kept", ne, historyCapacity)
	}
	for i := uint64(0); i < ne && d.err == nil; i++ {
		ev := &Event{Action: d.str()}
		flags := d.byte()
		ev.EtcdIndex = d.uvarint()
		ev.Node = d.extern()
		if flags&2 != 0 {
			ev.PrevNode = d.extern()
		}
		ev.Refresh = flags&1 != 0
		if d.err != nil {
			break
		}
		switch ev.Action {
		case ActionCreate, ActionSet, ActionUpdate, ActionDelete, ActionCompareAndSwap, ActionCompareAndDelete, ActionExpire:
		default:
			return nil, fmt.Errorf("history event %d: unknown action %q", i, ev.Action)
		}
		if flags&^3 != 0 {
			return nil, fmt.Errorf("history event %d: unknown flags %#x", i, flags)
		}
		idx := ev.Index()
		if idx > s.index || (s.hist.size > 0 && idx != s.hist.lastIndex+1) || idx == 0 {
			return nil, fmt.Errorf("history event %d: index %d out of sequence", i, idx)
		}
		s.hist.add(ev)
	}
	if d.err != nil {
		return nil, d.err
	}
	// Every index has its event, so a kept history ends at the index (the
	// history lookup relies on it).
	if s.hist.size > 0 && s.hist.lastIndex != s.index {
		return nil, fmt.Errorf("history ends at %d, store index is %d", s.hist.lastIndex, s.index)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return s, nil
}

// decoder reads the payload; the first error sticks and later reads return
// zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("truncated or malformed %s", what)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("byte")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// count reads an element count that must be possible given the bytes left
// (each element takes at least minSize bytes).
func (d *decoder) count(minSize uint64) uint64 {
	n := d.uvarint()
	if n > uint64(len(d.b))/minSize {
		d.fail("count")
		return 0
	}
	return n
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("string")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.fail("time")
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) extern() *NodeExtern {
	n := &NodeExtern{Key: d.str()}
	flags := d.byte()
	if flags&^7 != 0 {
		d.fail("node flags")
		return n
	}
	if flags&1 != 0 {
		v := d.str()
		n.Value = &v
	}
	n.Dir = flags&2 != 0
	if flags&4 != 0 {
		t := d.time()
		n.Expiration = &t
	}
	n.TTL = d.varint()
	n.ModifiedIndex = d.uvarint()
	n.CreatedIndex = d.uvarint()
	return n
}
