package tree

import (
	"testing"
	"time"
)

// TestSpecExamples replays spec/v2.md §3.5 (bodies captured from etcd
// 3.5.21) and compares the JSON byte for byte. The store is padded with
// hidden writes to reach the indexes of the capture; "…" parts of the spec
// are filled in from the times given here.
func TestSpecExamples(t *testing.T) {
	s := New()
	at := func(ns int) time.Time { return t0.Add(time.Duration(ns)) }
	type step struct {
		name string
		pad  uint64 // advance the store to this index first (0: don't)
		do   func() (*Event, error)
		want string
	}
	steps := []step{
		{"get empty root", 3, func() (*Event, error) { return s.Get("/", false, false, t0) },
			`{"action":"get","node":{"dir":true}}`},
		{"set new", 0, func() (*Event, error) { return s.Set("/foo", false, "bar", TTLOptions{}, t0) },
			`{"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":4,"createdIndex":4}}`},
		{"set replace", 0, func() (*Event, error) { return s.Set("/foo", false, "baz", TTLOptions{}, t0) },
			`{"action":"set","node":{"key":"/foo","value":"baz","modifiedIndex":5,"createdIndex":5},"prevNode":{"key":"/foo","value":"bar","modifiedIndex":4,"createdIndex":4}}`},
		{"get missing", 0, func() (*Event, error) { return s.Get("/nokey", false, false, t0) },
			`{"errorCode":100,"message":"Key not found","cause":"/nokey","index":5}`},
		{"dir1/a", 0, func() (*Event, error) { return s.Set("/dir1/a", false, "1", TTLOptions{}, t0) },
			`{"action":"set","node":{"key":"/dir1/a","value":"1","modifiedIndex":6,"createdIndex":6}}`},
		{"dir1/b/c", 0, func() (*Event, error) { return s.Set("/dir1/b/c", false, "2", TTLOptions{}, t0) },
			`{"action":"set","node":{"key":"/dir1/b/c","value":"2","modifiedIndex":7,"createdIndex":7}}`},
		{"dir1/_hidden", 0, func() (*Event, error) { return s.Set("/dir1/_hidden", false, "h", TTLOptions{}, t0) },
			`{"action":"set","node":{"key":"/dir1/_hidden","value":"h","modifiedIndex":8,"createdIndex":8}}`},
		{"get dir", 0, func() (*Event, error) { return s.Get("/dir1", false, false, t0) },
			`{"action":"get","node":{"key":"/dir1","dir":true,"nodes":[{"key":"/dir1/a","value":"1","modifiedIndex":6,"createdIndex":6},{"key":"/dir1/b","dir":true,"modifiedIndex":7,"createdIndex":7}],"modifiedIndex":6,"createdIndex":6}}`},
		{"get dir recursive sorted", 0, func() (*Event, error) { return s.Get("/dir1", true, true, t0) },
			`{"action":"get","node":{"key":"/dir1","dir":true,"nodes":[{"key":"/dir1/a","value":"1","modifiedIndex":6,"createdIndex":6},{"key":"/dir1/b","dir":true,"nodes":[{"key":"/dir1/b/c","value":"2","modifiedIndex":7,"createdIndex":7}],"modifiedIndex":7,"createdIndex":7}],"modifiedIndex":6,"createdIndex":6}}`},
		{"set dir", 0, func() (*Event, error) { return s.Set("/emptydir", true, "", TTLOptions{}, t0) },
			`{"action":"set","node":{"key":"/emptydir","dir":true,"modifiedIndex":9,"createdIndex":9}}`},
		{"set dir again", 0, func() (*Event, error) { return s.Set("/emptydir", true, "", TTLOptions{}, t0) },
			`{"errorCode":102,"message":"Not a file","cause":"/emptydir","index":9}`},
		{"set dir over file", 0, func() (*Event, error) { return s.Set("/foo", true, "", TTLOptions{}, t0) },
			`{"action":"set","node":{"key":"/foo","dir":true,"modifiedIndex":10,"createdIndex":10},"prevNode":{"key":"/foo","value":"baz","modifiedIndex":5,"createdIndex":5}}`},
		{"set root", 11, func() (*Event, error) { return s.Set("/", false, "x", TTLOptions{}, t0) },
			`{"errorCode":107,"message":"Root is read only","cause":"/","index":11}`},
		{"set ttl", 0, func() (*Event, error) {
			return s.Set("/ttlkey", false, "v", ttl(100*time.Second, at(321602070)), at(321602070))
		},
			`{"action":"set","node":{"key":"/ttlkey","value":"v","expiration":"2026-11-21T10:14:35.32160207Z","ttl":100,"modifiedIndex":12,"createdIndex":12}}`},
		{"refresh update", 0, func() (*Event, error) {
			now := at(344909837)
			return s.Update("/ttlkey", "", TTLOptions{ExpireTime: now.Add(200 * time.Second), Refresh: true}, now)
		}, `{"action":"update","node":{"key":"/ttlkey","value":"v","expiration":"2026-11-21T10:16:15.344909837Z","ttl":200,"modifiedIndex":13,"createdIndex":12},"prevNode":{"key":"/ttlkey","value":"v","expiration":"2026-11-21T10:14:35.32160207Z","ttl":100,"modifiedIndex":12,"createdIndex":12}}`},
		{"refresh set", 0, func() (*Event, error) {
			now := at(360000000)
			return s.Set("/ttlkey", false, "", TTLOptions{ExpireTime: now.Add(300 * time.Second), Refresh: true}, now)
		}, `{"action":"set","node":{"key":"/ttlkey","value":"v","expiration":"2026-11-21T10:17:55.36Z","ttl":300,"modifiedIndex":14,"createdIndex":14},"prevNode":{"key":"/ttlkey","value":"v","expiration":"2026-11-21T10:16:15.344909837Z","ttl":200,"modifiedIndex":13,"createdIndex":12}}`},
		{"set ttl 0", 15, func() (*Event, error) { return s.Set("/ttlkey", false, "v2", ttl(0, at(419630207)), at(419630207)) },
			`{"action":"set","node":{"key":"/ttlkey","value":"v2","expiration":"2026-11-21T10:12:55.419630207Z","modifiedIndex":16,"createdIndex":16},"prevNode":{"key":"/ttlkey","value":"v","expiration":"2026-11-21T10:17:55.36Z","ttl":300,"modifiedIndex":14,"createdIndex":14}}`},
		{"expire", 0, func() (*Event, error) {
			evs := s.DeleteExpiredKeys(at(919630207))
			if len(evs) != 1 {
				t.Fatalf("%d expire events, want 1", len(evs))
			}
			return evs[0], nil
		}, `{"action":"expire","node":{"key":"/ttlkey","modifiedIndex":17,"createdIndex":16},"prevNode":{"key":"/ttlkey","value":"v2","expiration":"2026-11-21T10:12:55.419630207Z","modifiedIndex":16,"createdIndex":16}}`},
		{"watch from history", 0, func() (*Event, error) {
			w, err := s.Watch("/ttlkey", false, false, 17)
			if err != nil {
				return nil, err
			}
			if w.StartIndex() != 17 {
				t.Errorf("StartIndex %d, want 17", w.StartIndex())
			}
			return <-w.EventChan(), nil
		}, `{"action":"expire","node":{"key":"/ttlkey","modifiedIndex":17,"createdIndex":16},"prevNode":{"key":"/ttlkey","value":"v2","expiration":"2026-11-21T10:12:55.419630207Z","modifiedIndex":16,"createdIndex":16}}`},
		{"create", 19, func() (*Event, error) { return s.Create("/c1", false, "a", false, TTLOptions{}, t0) },
			`{"action":"create","node":{"key":"/c1","value":"a","modifiedIndex":20,"createdIndex":20}}`},
		{"create exists", 0, func() (*Event, error) { return s.Create("/c1", false, "b", false, TTLOptions{}, t0) },
			`{"errorCode":105,"message":"Key already exists","cause":"/c1","index":20}`},
		{"update", 0, func() (*Event, error) { return s.Update("/c1", "b", TTLOptions{}, t0) },
			`{"action":"update","node":{"key":"/c1","value":"b","modifiedIndex":21,"createdIndex":20},"prevNode":{"key":"/c1","value":"a","modifiedIndex":20,"createdIndex":20}}`},
		{"update missing", 0, func() (*Event, error) { return s.Update("/c2", "b", TTLOptions{}, t0) },
			`{"errorCode":100,"message":"Key not found","cause":"/c2","index":21}`},
		{"cas", 0, func() (*Event, error) { return s.CompareAndSwap("/c1", "b", 0, "c", TTLOptions{}, t0) },
			`{"action":"compareAndSwap","node":{"key":"/c1","value":"c","modifiedIndex":22,"createdIndex":20},"prevNode":{"key":"/c1","value":"b","modifiedIndex":21,"createdIndex":20}}`},
		{"cas value", 0, func() (*Event, error) { return s.CompareAndSwap("/c1", "zz", 0, "d", TTLOptions{}, t0) },
			`{"errorCode":101,"message":"Compare failed","cause":"[zz != c]","index":22}`},
		{"cas index", 0, func() (*Event, error) { return s.CompareAndSwap("/c1", "", 1, "d", TTLOptions{}, t0) },
			`{"errorCode":101,"message":"Compare failed","cause":"[1 != 22]","index":22}`},
		{"cas both", 0, func() (*Event, error) { return s.CompareAndSwap("/c1", "zz", 1, "d", TTLOptions{}, t0) },
			`{"errorCode":101,"message":"Compare failed","cause":"[zz != c] [1 != 22]","index":22}`},
		{"post", 40, func() (*Event, error) { return s.Create("/queue", false, "job1", true, TTLOptions{}, t0) },
			`{"action":"create","node":{"key":"/queue/00000000000000000041","value":"job1","modifiedIndex":41,"createdIndex":41}}`},
		{"post ttl", 0, func() (*Event, error) { return s.Create("/queue", false, "job2", true, ttl(100*time.Second, t0), t0) },
			`{"action":"create","node":{"key":"/queue/00000000000000000042","value":"job2","expiration":"2026-11-21T10:14:35Z","ttl":100,"modifiedIndex":42,"createdIndex":42}}`},
		{"post root", 43, func() (*Event, error) { return s.Create("/", false, "r", true, TTLOptions{}, t0) },
			`{"action":"create","node":{"key":"/00000000000000000044","value":"r","modifiedIndex":44,"createdIndex":44}}`},
		{"post to file", 46, func() (*Event, error) { return s.Create("/c1", false, "x", true, TTLOptions{}, t0) },
			`{"errorCode":104,"message":"Not a directory","cause":"/c1","index":46}`},
		{"delete file", 32, func() (*Event, error) { return s.Delete("/dir1/a", false, false, t0) },
			`{"errorCode":107}`}, // replaced below: padTo cannot go back
	}
	// The capture's delete examples sit at indexes 33-38, below the POSTs;
	// they run on a second store below.
	steps = steps[:len(steps)-1]
	for _, st := range steps {
		if st.pad != 0 {
			padTo(t, s, st.pad)
		}
		e, err := st.do()
		if got := render(t, e, err); got != st.want {
			t.Errorf("%s:\n got %s\nwant %s", st.name, got, st.want)
		}
	}
	checkInvariants(t, s)

	// Deletes, on a fresh store shaped like the capture's at index 32.
	d := New()
	padTo(t, d, 5)
	must(d.Set("/dir1/a", false, "1", TTLOptions{}, t0))   // 6
	must(d.Set("/dir1/b/c", false, "2", TTLOptions{}, t0)) // 7
	padTo(t, d, 8)
	must(d.Set("/emptydir", true, "", TTLOptions{}, t0)) // 9
	padTo(t, d, 32)
	steps = []step{
		{"delete file", 0, func() (*Event, error) { return d.Delete("/dir1/a", false, false, t0) },
			`{"action":"delete","node":{"key":"/dir1/a","modifiedIndex":33,"createdIndex":6},"prevNode":{"key":"/dir1/a","value":"1","modifiedIndex":6,"createdIndex":6}}`},
		{"delete dir plain", 0, func() (*Event, error) { return d.Delete("/dir1", false, false, t0) },
			`{"errorCode":102,"message":"Not a file","cause":"/dir1","index":33}`},
		{"delete dir not empty", 0, func() (*Event, error) { return d.Delete("/dir1", true, false, t0) },
			`{"errorCode":108,"message":"Directory not empty","cause":"/dir1","index":33}`},
		{"delete empty dir", 0, func() (*Event, error) { return d.Delete("/emptydir", true, false, t0) },
			`{"action":"delete","node":{"key":"/emptydir","dir":true,"modifiedIndex":34,"createdIndex":9},"prevNode":{"key":"/emptydir","dir":true,"modifiedIndex":9,"createdIndex":9}}`},
		{"delete recursive", 35, func() (*Event, error) { return d.Delete("/dir1", false, true, t0) },
			`{"action":"delete","node":{"key":"/dir1","dir":true,"modifiedIndex":36,"createdIndex":6},"prevNode":{"key":"/dir1","dir":true,"modifiedIndex":6,"createdIndex":6}}`},
		{"delete root", 0, func() (*Event, error) { return d.Delete("/", false, true, t0) },
			`{"errorCode":107,"message":"Root is read only","cause":"/","index":36}`},
		{"cad setup", 0, func() (*Event, error) { return d.Set("/d1", false, "v1", TTLOptions{}, t0) },
			`{"action":"set","node":{"key":"/d1","value":"v1","modifiedIndex":37,"createdIndex":37}}`},
		{"cad", 0, func() (*Event, error) { return d.CompareAndDelete("/d1", "v1", 0, t0) },
			`{"action":"compareAndDelete","node":{"key":"/d1","modifiedIndex":38,"createdIndex":37},"prevNode":{"key":"/d1","value":"v1","modifiedIndex":37,"createdIndex":37}}`},
		{"cad root", 0, func() (*Event, error) { return d.CompareAndDelete("/", "x", 0, t0) },
			`{"errorCode":102,"message":"Not a file","index":38}`},
	}
	for _, st := range steps {
		if st.pad != 0 {
			padTo(t, d, st.pad)
		}
		e, err := st.do()
		if got := render(t, e, err); got != st.want {
			t.Errorf("%s:\n got %s\nwant %s", st.name, got, st.want)
		}
	}
	checkInvariants(t, d)
}

// TestErrorFormat checks the error text, JSON and HTTP status of every code.
func TestErrorFormat(t *testing.T) {
	e := NewError(EcodeKeyNotFound, "/foo", 12)
	if got, want := e.Error(), "100: Key not found (/foo) [12]"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := mustJSON(t, NewError(EcodeEventIndexCleared, "the requested history has been cleared [157/5]", 1156)),
		`{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [157/5]","index":1156}`; got != want {
		t.Errorf("JSON %s, want %s", got, want)
	}
	status := map[int]int{100: 404, 101: 412, 102: 403, 104: 400, 105: 412, 107: 400, 108: 403, 110: 401,
		201: 400, 202: 400, 203: 400, 209: 400, 210: 400, 211: 400, 212: 400, 300: 500, 301: 500, 401: 400, 500: 400}
	for code, want := range status {
		if got := NewError(code, "", 0).StatusCode(); got != want {
			t.Errorf("code %d: status %d, want %d", code, got, want)
		}
	}
	for _, c := range []struct {
		code int
		msg  string
	}{
		{201, "PrevValue is Required in POST form"}, {202, "The given TTL in POST form is not a number"},
		{203, "The given index in POST form is not a number"}, {209, "Invalid field"}, {210, "Invalid POST form"},
		{211, "Value provided on refresh"}, {212, "A TTL must be provided on refresh"}, {300, "Raft Internal Error"},
		{110, "The request requires user authentication"}, {108, "Directory not empty"}, {106, "The prefix of given key is a keyword in etcd"},
	} {
		if got := NewError(c.code, "", 0).Message; got != c.msg {
			t.Errorf("code %d: message %q, want %q", c.code, got, c.msg)
		}
	}
	if !IsCode(error(NewError(EcodeNotDir, "", 0)), EcodeNotDir) || IsCode(ErrCorrupt, EcodeNotDir) {
		t.Error("IsCode")
	}
}
