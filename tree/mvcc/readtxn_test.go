package mvcc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"testing"
)

func TestReadTxnMatchesTxn(t *testing.T) {
	s := New()
	for i := range 5 {
		if _, _, err := s.Put(PutRequest{Key: fmt.Appendf(nil, "k%d", i), Value: []byte("v")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	req := TxnRequest{
		Compare: []Compare{{Key: []byte("k1"), Target: CompareVersion, Result: CompareEqual, Number: 1}},
		Success: []Op{
			{Range: &RangeRequest{Key: []byte("k"), End: []byte("l")}},
			{Txn: &TxnRequest{
				Compare: []Compare{{Key: []byte("k9"), Target: CompareValue, Result: CompareEqual}},
				Failure: []Op{{Range: &RangeRequest{Key: []byte("k2"), Revision: 3}}},
			}},
		},
	}
	if !req.ReadOnly() {
		t.Fatal("a txn of ranges is not read-only")
	}
	got, err := s.ReadTxn(req)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := s.Txn(req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadTxn %v, Txn %v", got, want)
	}
	writes := TxnRequest{Failure: []Op{{Put: &PutRequest{Key: []byte("x")}}}}
	if writes.ReadOnly() {
		t.Fatal("a txn with a put in its failure branch is read-only")
	}
	if _, err := s.ReadTxn(writes); err == nil {
		t.Fatal("ReadTxn ran a txn that writes")
	}
	if _, err := s.ReadTxn(TxnRequest{Success: []Op{{Range: &RangeRequest{Key: []byte("k1"), Revision: 99}}}}); err != ErrFutureRev {
		t.Fatalf("future range in a read txn: %v", err)
	}
}

// TestReadTxnConcurrentWithWrites is for the race detector: read txns run
// under the read lock while writes go on.
func TestReadTxnConcurrentWithWrites(t *testing.T) {
	s := New()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 500 {
			if _, _, err := s.Put(PutRequest{Key: fmt.Appendf(nil, "k%d", i%7), Value: []byte("v")}, nil); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	req := TxnRequest{Success: []Op{{Range: &RangeRequest{Key: []byte{0}, End: []byte{0}}}}}
	for range 500 {
		res, err := s.ReadTxn(req)
		if err != nil {
			t.Fatal(err)
		}
		if rr := res.Results[0].Range; rr.Revision != res.Revision {
			t.Fatalf("range inside saw revision %d, txn %d", rr.Revision, res.Revision)
		}
	}
	wg.Wait()
}

// Compaction must not keep dropped versions reachable through the backing
// array of the kept ones.
func TestCompactReleasesDroppedVersions(t *testing.T) {
	s := New()
	for range 40 {
		if _, _, err := s.Put(PutRequest{Key: []byte("k"), Value: make([]byte, 1024)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Compact(s.Rev()); err != nil {
		t.Fatal(err)
	}
	e, ok := s.tree.Get(keyEntry{key: []byte("k")})
	if !ok || len(e.versions) != 1 || cap(e.versions) != 1 {
		t.Fatalf("after compaction: %d versions in an array of %d", len(e.versions), cap(e.versions))
	}
}

type failingReader struct {
	r   io.Reader
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// A reader's own failure is reported as such, not as corruption; running
// out of bytes is corruption.
func TestRestoreReadErrors(t *testing.T) {
	s := New()
	for i := range 100 {
		if _, _, err := s.Put(PutRequest{Key: fmt.Appendf(nil, "k%d", i), Value: []byte("value")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := s.Snapshot().WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	errDisk := errors.New("disk on fire")
	for _, cut := range []int{0, 10, buf.Len() / 2, buf.Len() - 2} {
		_, err := Restore(&failingReader{r: bytes.NewReader(buf.Bytes()), n: cut, err: errDisk})
		if !errors.Is(err, errDisk) || errors.Is(err, ErrCorrupt) {
			t.Errorf("read failing after %d bytes: %v", cut, err)
		}
		_, err = Restore(bytes.NewReader(buf.Bytes()[:cut]))
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("truncated at %d bytes: %v", cut, err)
		}
	}
}
