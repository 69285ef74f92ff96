package tree

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// t0 is the "now" of most tests; spec examples use times close to it.
var t0 = time.Date(2026, 11, 21, 10, 12, 55, 0, time.UTC)

func ttl(d time.Duration, now time.Time) TTLOptions { return TTLOptions{ExpireTime: now.Add(d)} }

// render gives the JSON the v2 API would send for a result: the event, or
// the error body.
func render(t *testing.T, e *Event, err error) string {
	t.Helper()
	if err != nil {
		var ee *Error
		if !errors.As(err, &ee) {
			t.Fatalf("error %v is not a *tree.Error", err)
		}
		return mustJSON(t, ee)
	}
	return mustJSON(t, e)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// padTo advances s to index n with writes to a hidden key, which no
// listing shows.
func padTo(t *testing.T, s *Store, n uint64) {
	t.Helper()
	if s.Index() > n {
		t.Fatalf("store at %d, past %d", s.Index(), n)
	}
	for s.Index() < n {
		if _, err := s.Set("/_pad", false, "", TTLOptions{}, t0); err != nil {
			t.Fatal(err)
		}
	}
}

// must is for setup writes that cannot fail; a failure is a test bug.
func must(e *Event, err error) *Event {
	if err != nil {
		panic(err)
	}
	return e
}

func wantCode(t *testing.T, err error, code int, cause string) {
	t.Helper()
	var ee *Error
	if !errors.As(err, &ee) {
		t.Fatalf("got error %v, want code %d", err, code)
	}
	if ee.ErrorCode != code || ee.Cause != cause {
		t.Fatalf("got %d %q, want %d %q", ee.ErrorCode, ee.Cause, code, cause)
	}
}

// checkInvariants panics-free walk of the whole store: parent links, the TTL
// index matches the nodes with a TTL, the history is contiguous and ends at
// the store index.
func checkInvariants(t *testing.T, s *Store) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	withTTL := 0
	var walk func(n *node)
	walk = func(n *node) {
		if !n.expire.IsZero() {
			withTTL++
			if v, ok := s.ttls.Get(expiryKey(n.expire, n.path)); !ok || v.(*node) != n {
				t.Fatalf("node %s with TTL missing from the TTL index", n.path)
			}
		}
		if n.modifiedIndex > s.index || n.createdIndex > n.modifiedIndex {
			t.Fatalf("node %s indexes %d/%d, store %d", n.path, n.createdIndex, n.modifiedIndex, s.index)
		}
		if !n.dir {
			return
		}
		for _, c := range n.sortedChildren() {
			if c.parent != n || c.path != clean(n.path+"/"+c.name()) {
				t.Fatalf("bad link %s -> %s", n.path, c.path)
			}
			walk(c)
		}
	}
	walk(s.root)
	if withTTL != s.ttls.Len() {
		t.Fatalf("%d nodes with TTL, TTL index holds %d", withTTL, s.ttls.Len())
	}
	if s.hist.size > 0 {
		if s.hist.lastIndex != s.index {
			t.Fatalf("history ends at %d, store at %d", s.hist.lastIndex, s.index)
		}
		for i := 0; i < s.hist.size; i++ {
			if got := s.hist.at(i).Index(); got != s.hist.startIndex+uint64(i) {
				t.Fatalf("history slot %d has index %d, want %d", i, got, s.hist.startIndex+uint64(i))
			}
		}
	}
}
