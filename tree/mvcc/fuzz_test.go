package mvcc

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzRestore feeds arbitrary bytes to Restore, raw and sealed with a valid
// header and checksum (so that mutations reach the body decoder and its
// state checks instead of dying at the checksum). Restore must never panic;
// what it accepts must behave as a store and round-trip.
func FuzzRestore(f *testing.F) {
	f.Add([]byte{})
	for _, s := range []*Store{New(), historyStore(f)} {
		data := snapshotBytes(f, s.Snapshot())
		f.Add(data)
		f.Add(data[headerSize : len(data)-4]) // the body alone, for sealing
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, sealBody(data)} {
			s, err := Restore(bytes.NewReader(in))
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error not marked corrupt: %v", err)
				}
				continue
			}
			out := snapshotBytes(t, s.Snapshot())
			again := mustRestore(t, out)
			if !bytes.Equal(snapshotBytes(t, again.Snapshot()), out) || again.Hash() != s.Hash() {
				t.Fatal("restore/write round trip is not stable")
			}
			// The invariants Restore checked must hold up under use (within
			// reason: a claimed revision near MaxInt64 cannot take writes).
			use(t, s)
			if s.Rev() < 1<<60 {
				if _, _, err := s.Txn(TxnRequest{Success: []Op{
					{Put: &PutRequest{Key: bs("a"), IgnoreValue: true}},
				}, Failure: []Op{opDel("\x00", "\x00")}}, nil); err != nil && !errors.Is(err, ErrKeyNotFound) {
					t.Fatal(err)
				}
				mustPut(t, s, "a", "1")
				if err := s.Compact(s.Rev()); err != nil {
					t.Fatal(err)
				}
				use(t, s)
			}
		}
	})
}

// use reads s at its edges: the current revision, the compaction, and the
// whole-store hashes.
func use(t *testing.T, s *Store) {
	for _, rev := range []int64{0, s.CompactRev(), s.CompactRev() + 1} {
		if _, err := s.Range(RangeRequest{Key: []byte{0}, End: []byte{0}, Revision: rev}); err != nil && rev > 0 && rev <= s.Rev() {
			t.Fatalf("range at %d: %v", rev, err)
		}
		if _, _, _, err := s.HashKV(rev); err != nil && rev >= 0 && rev <= s.Rev() {
			t.Fatalf("HashKV at %d: %v", rev, err)
		}
	}
	s.Hash()
}

// txnDecoder decodes a TxnRequest from fuzz input, one byte per choice.
type txnDecoder struct{ data []byte }

func (d *txnDecoder) next() int {
	if len(d.data) == 0 {
		return 0
	}
	b := d.data[0]
	d.data = d.data[1:]
	return int(b)
}

func (d *txnDecoder) bytes() []byte {
	switch n := d.next(); n % 8 {
	case 0:
		return nil
	case 1:
		return []byte{0}
	case 2:
		return []byte{}
	default:
		return []byte{'a' + byte(n/8%4), 'a' + byte(n/32%4)}[:1+n%2]
	}
}

func (d *txnDecoder) txn(depth int) TxnRequest {
	var req TxnRequest
	for range d.next() % 4 {
		req.Compare = append(req.Compare, Compare{Key: d.bytes(), End: d.bytes(), Target: CompareTarget(d.next() % 6),
			Result: CompareResult(d.next() % 5), Number: int64(d.next() % 4), Value: d.bytes()})
	}
	ops := func() []Op {
		var out []Op
		for range d.next() % 5 {
			switch d.next() % 6 {
			case 0:
				out = append(out, Op{Put: &PutRequest{Key: d.bytes(), Value: d.bytes(), Lease: int64(d.next() % 3),
					IgnoreValue: d.next()%4 == 0, IgnoreLease: d.next()%4 == 0, PrevKV: d.next()%2 == 0}})
			case 1:
				out = append(out, Op{Delete: &DeleteRequest{Key: d.bytes(), End: d.bytes(), PrevKV: d.next()%2 == 0}})
			case 2:
				out = append(out, Op{Range: &RangeRequest{Key: d.bytes(), End: d.bytes(), Revision: int64(d.next()%8) - 2,
					Limit: int64(d.next()%4) - 1, SortOrder: SortOrder(d.next() % 4), SortTarget: SortTarget(d.next() % 6)}})
			case 3:
				if depth < 4 {
					t := d.txn(depth + 1)
					out = append(out, Op{Txn: &t})
				}
			case 4:
				out = append(out, Op{})
			}
		}
		return out
	}
	req.Success, req.Failure = ops(), ops()
	return req
}

// FuzzTxn validates and applies arbitrary transactions: neither may panic,
// ValidateTxn must be deterministic, and a failed txn must change nothing.
func FuzzTxn(f *testing.F) {
	f.Add([]byte{3, 1, 0, 3, 2, 0, 2, 3, 1, 2, 0, 0})
	f.Add([]byte{0, 4, 3, 2, 0, 9, 17, 0, 0, 1, 1, 1, 1, 3, 2, 1, 9, 1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &txnDecoder{data: data}
		maxOps := d.next() % 8
		req := d.txn(0)
		verr := ValidateTxn(req, maxOps)
		if again := ValidateTxn(req, maxOps); again != verr {
			t.Fatalf("ValidateTxn not deterministic: %v, then %v", verr, again)
		}
		// Valid or not, applying must not panic; validity is the API
		// layer's business.
		s := rangeFixture(t)
		if err := s.Compact(3); err != nil {
			t.Fatal(err)
		}
		rev, hash := s.Rev(), s.Hash()
		res, evs, err := s.Txn(req, leaseSet{1: true})
		switch {
		case err != nil:
			if !errors.Is(err, ErrLeaseNotFound) && !errors.Is(err, ErrKeyNotFound) &&
				!errors.Is(err, ErrFutureRev) && !errors.Is(err, ErrCompacted) {
				t.Fatalf("unexpected error %v", err)
			}
			if s.Rev() != rev || s.Hash() != hash {
				t.Fatalf("failed txn changed the store")
			}
		case len(evs) > 0:
			if res.Revision != rev+1 || s.Rev() != rev+1 {
				t.Fatalf("txn with %d events at %d, store at %d, was %d", len(evs), res.Revision, s.Rev(), rev)
			}
		default:
			if res.Revision != rev || s.Rev() != rev || s.Hash() != hash {
				t.Fatalf("txn without events moved the store")
			}
		}
	})
}
