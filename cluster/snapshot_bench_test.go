package cluster

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"testing"

	"github.com/larchkv/larch/auth"
	"github.com/larchkv/larch/tree"
	"github.com/larchkv/larch/tree/lease"
	"github.com/larchkv/larch/tree/mvcc"
)

// benchState is a captured state with n keys of 256-byte values.
func benchState(b *testing.B, n int) stateView {
	b.Helper()
	kv := mvcc.New()
	value := bytes.Repeat([]byte("v"), 256)
	for i := range n {
		if _, _, err := kv.Put(mvcc.PutRequest{Key: fmt.Appendf(nil, "key/%08d", i), Value: value}, nil); err != nil {
			b.Fatal(err)
		}
	}
	rs := restoredState{kv: kv, v2: tree.New(), leases: lease.New(), auth: auth.NewStore()}
	st, err := rs.view()
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkBackupStream measures what Maintenance.Snapshot spends per byte
// besides the network: the payload written out and hashed, as the stream
// does, with nothing held but the copy-on-write view.
func BenchmarkBackupStream(b *testing.B) {
	st := benchState(b, 100_000)
	p, err := newSnapshotPayload(st)
	if err != nil {
		b.Fatal(err)
	}
	snap := &StateSnapshot{p: p}
	b.SetBytes(snap.Len())
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.New()
		if _, err := snap.WriteTo(io.MultiWriter(io.Discard, h)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestoreDecode measures reading a payload back into a store, as
// snapshot restore and a restart do.
func BenchmarkRestoreDecode(b *testing.B) {
	st := benchState(b, 100_000)
	p, err := newSnapshotPayload(st)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := p.WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeSnapshot(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
