package mvcc

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// leaseSet is a LeaseChecker knowing a fixed set of leases.
type leaseSet map[int64]bool

func (l leaseSet) LeaseExists(id int64) bool { return l[id] }

// bs turns a fixture string into request bytes; "" stays nil, as in proto3.
func bs(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

// The render functions print results in one compact, diffable form, so that
// tests state expectations as strings and the model test compares the store
// and the model without caring about nil versus empty slices.

func renderKV(kv KeyValue) string {
	return fmt.Sprintf("%q=%q/c%d/m%d/v%d/l%d", kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease)
}

func renderKVs(kvs []KeyValue) string {
	parts := make([]string, len(kvs))
	for i, kv := range kvs {
		parts[i] = renderKV(kv)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func renderPrev(kv *KeyValue) string {
	if kv == nil {
		return "nil"
	}
	return renderKV(*kv)
}

func renderRange(r RangeResult) string {
	return fmt.Sprintf("rev=%d count=%d more=%t %s", r.Revision, r.Count, r.More, renderKVs(r.KVs))
}

func renderPut(r PutResult) string {
	return fmt.Sprintf("rev=%d prev=%s", r.Revision, renderPrev(r.PrevKV))
}

func renderDelete(r DeleteResult) string {
	return fmt.Sprintf("rev=%d deleted=%d prevs=%s", r.Revision, r.Deleted, renderKVs(r.PrevKVs))
}

func renderTxn(r TxnResult) string {
	parts := make([]string, len(r.Results))
	for i, op := range r.Results {
		var s string
		switch {
		case op.Range != nil:
			s = "range{" + renderRange(*op.Range) + "}"
		case op.Put != nil:
			s = "put{" + renderPut(*op.Put) + "}"
		case op.Delete != nil:
			s = "del{" + renderDelete(*op.Delete) + "}"
		case op.Txn != nil:
			s = "txn{" + renderTxn(*op.Txn) + "}"
		default:
			s = "none"
		}
		parts[i] = fmt.Sprintf("%d:%s", op.Revision, s)
	}
	return fmt.Sprintf("rev=%d ok=%t [%s]", r.Revision, r.Succeeded, strings.Join(parts, " "))
}

func renderEvents(evs []Event) string {
	parts := make([]string, len(evs))
	for i, ev := range evs {
		typ := "PUT"
		if ev.Type == EventDelete {
			typ = "DELETE"
		}
		parts[i] = fmt.Sprintf("%s %s prev=%s", typ, renderKV(ev.KV), renderPrev(ev.PrevKV))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

func renderErr(err error) string {
	if err == nil {
		return "ok"
	}
	return "error: " + err.Error()
}

func mustPut(t testing.TB, s *Store, key, value string) PutResult {
	t.Helper()
	r, _, err := s.Put(PutRequest{Key: bs(key), Value: bs(value)}, nil)
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
	return r
}

func mustRange(t testing.TB, s *Store, req RangeRequest) RangeResult {
	t.Helper()
	r, err := s.Range(req)
	if err != nil {
		t.Fatalf("range %q: %v", req.Key, err)
	}
	return r
}

// get renders the current version of key, "none" if missing.
func get(t testing.TB, s *Store, key string) string {
	t.Helper()
	r := mustRange(t, s, RangeRequest{Key: bs(key)})
	if len(r.KVs) == 0 {
		return "none"
	}
	return renderKV(r.KVs[0])
}

func checkErr(t testing.TB, what string, got, want error) {
	t.Helper()
	if !errors.Is(got, want) || (want == nil) != (got == nil) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func checkStr(t testing.TB, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s:\n got %s\nwant %s", what, got, want)
	}
}

// all is the everything range.
var all = RangeRequest{Key: []byte{0}, End: []byte{0}}
