package tree

import (
	"fmt"
	"testing"
	"time"
)

func TestPathsAndRoot(t *testing.T) {
	s := New()
	e := must(s.Set("//a/./b/", false, "v", TTLOptions{}, t0))
	if e.Node.Key != "/a/b" {
		t.Fatalf("key %q, want /a/b", e.Node.Key)
	}
	for _, p := range []string{"", "/", "//", "/a/.."} {
		if e, err := s.Get(p, false, false, t0); err != nil || e.Node.Key != "" || !e.Node.Dir {
			t.Errorf("Get(%q) = %v, %v; want the root", p, e, err)
		}
	}
	// Every write on the root is 107 with cause "/", except CAD (102, no cause).
	_, err := s.Set("/", true, "", TTLOptions{}, t0)
	wantCode(t, err, EcodeRootROnly, "/")
	_, err = s.Create("", false, "x", false, TTLOptions{}, t0)
	wantCode(t, err, EcodeRootROnly, "/")
	_, err = s.Update("/", "", TTLOptions{}, t0)
	wantCode(t, err, EcodeRootROnly, "/")
	_, err = s.CompareAndSwap("/", "x", 0, "y", TTLOptions{}, t0)
	wantCode(t, err, EcodeRootROnly, "/")
	_, err = s.Delete("/", true, true, t0)
	wantCode(t, err, EcodeRootROnly, "/")
	_, err = s.CompareAndDelete("/", "", 3, t0)
	wantCode(t, err, EcodeNotFile, "")
	if s.Index() != 1 {
		t.Fatalf("failed writes moved the index to %d", s.Index())
	}
}

func TestGetErrorsAndFileOnPath(t *testing.T) {
	s := New()
	must(s.Set("/foo/bar", false, "v", TTLOptions{}, t0))
	_, err := s.Get("/foo/bar/baz", false, false, t0)
	wantCode(t, err, EcodeNotDir, "/foo/bar")
	_, err = s.Get("/nope/x", false, false, t0)
	wantCode(t, err, EcodeKeyNotFound, "/nope")
	_, err = s.Set("/foo/bar/baz", false, "v", TTLOptions{}, t0)
	wantCode(t, err, EcodeNotDir, "/foo/bar")
	_, err = s.Create("/foo/bar/baz/q", false, "v", false, TTLOptions{}, t0)
	wantCode(t, err, EcodeNotDir, "/foo/bar")
	_, err = s.Update("/foo/bar/baz", "v", TTLOptions{}, t0)
	wantCode(t, err, EcodeNotDir, "/foo/bar")
	_, err = s.Delete("/foo/bar/baz", false, false, t0)
	wantCode(t, err, EcodeNotDir, "/foo/bar")
	// A file ignores recursive and sorted.
	e := must(s.Get("/foo/bar", true, true, t0))
	if mustJSON(t, e.Node) != `{"key":"/foo/bar","value":"v","modifiedIndex":1,"createdIndex":1}` {
		t.Fatalf("file get %s", mustJSON(t, e.Node))
	}
	// Gets do not advance the index; EtcdIndex is the current index.
	if e.EtcdIndex != 1 || s.Index() != 1 {
		t.Fatal("get moved the index")
	}
}

func TestImplicitParentsAndSet(t *testing.T) {
	s := New()
	must(s.Set("/x", false, "0", TTLOptions{}, t0))
	e := must(s.Set("/a/b/c", false, "v", TTLOptions{}, t0))
	g := must(s.Get("/a", true, false, t0))
	want := `{"key":"/a","dir":true,"nodes":[{"key":"/a/b","dir":true,"nodes":[{"key":"/a/b/c","value":"v","modifiedIndex":2,"createdIndex":2}],"modifiedIndex":2,"createdIndex":2}],"modifiedIndex":2,"createdIndex":2}`
	if got := mustJSON(t, g.Node); got != want || e.EtcdIndex != 2 {
		t.Fatalf("got %s", got)
	}
	// Adding children leaves a dir's modifiedIndex alone.
	must(s.Set("/a/d", false, "v", TTLOptions{}, t0))
	if g := must(s.Get("/a", false, false, t0)); g.Node.ModifiedIndex != 2 {
		t.Fatalf("dir modifiedIndex %d", g.Node.ModifiedIndex)
	}
	// Set with dir=true ignores the value; set creates 201-style events.
	e = must(s.Set("/e", true, "ignored", TTLOptions{}, t0))
	if e.Node.Value != nil || !e.IsCreated() {
		t.Fatalf("dir set %s", mustJSON(t, e))
	}
	e = must(s.Set("/x", false, "1", TTLOptions{}, t0))
	if e.IsCreated() || e.Node.CreatedIndex != e.Node.ModifiedIndex {
		t.Fatalf("replacing set %s", mustJSON(t, e))
	}
	// Empty values are values.
	e = must(s.Set("/empty", false, "", TTLOptions{}, t0))
	if got := mustJSON(t, e.Node); got != fmt.Sprintf(`{"key":"/empty","value":"","modifiedIndex":%d,"createdIndex":%d}`, e.Index(), e.Index()) {
		t.Fatal(got)
	}
	// Create of a dir over a dir, and dir create.
	_, err := s.Create("/a", true, "", false, TTLOptions{}, t0)
	wantCode(t, err, EcodeNodeExist, "/a")
	e = must(s.Create("/newdir", true, "", false, TTLOptions{}, t0))
	if !e.Node.Dir || e.Action != ActionCreate || !e.IsCreated() {
		t.Fatal(mustJSON(t, e))
	}
	checkInvariants(t, s)
}

func TestHiddenNodes(t *testing.T) {
	s := New()
	must(s.Set("/h/_secret", false, "s", TTLOptions{}, t0))
	must(s.Set("/h/v", false, "v", TTLOptions{}, t0))
	must(s.Set("/h/_hd/x", false, "x", TTLOptions{}, t0))
	must(s.Set("/h/sub/_y", false, "y", TTLOptions{}, t0))
	must(s.Set("/_top", false, "t", TTLOptions{}, t0))
	g := must(s.Get("/", true, true, t0))
	want := `{"dir":true,"nodes":[{"key":"/h","dir":true,"nodes":[{"key":"/h/sub","dir":true,"modifiedIndex":4,"createdIndex":4},{"key":"/h/v","value":"v","modifiedIndex":2,"createdIndex":2}],"modifiedIndex":1,"createdIndex":1}]}`
	if got := mustJSON(t, g.Node); got != want {
		t.Fatalf("listing\n got %s\nwant %s", got, want)
	}
	// Direct access works, and a hidden dir lists its children.
	if e := must(s.Get("/h/_secret", false, false, t0)); *e.Node.Value != "s" {
		t.Fatal("hidden get")
	}
	if e := must(s.Get("/h/_hd", false, false, t0)); len(e.Node.Nodes) != 1 {
		t.Fatal("hidden dir listing")
	}
	// A dir with only hidden children is not empty.
	_, err := s.Delete("/h/sub", true, false, t0)
	wantCode(t, err, EcodeDirNotEmpty, "/h/sub")
}

func TestUpdateAndCAS(t *testing.T) {
	s := New()
	must(s.Set("/f", false, "a", ttl(time.Minute, t0), t0))
	// Update without a TTL makes the node permanent; createdIndex is kept.
	e := must(s.Update("/f", "b", TTLOptions{}, t0))
	if e.Node.Expiration != nil || e.Node.CreatedIndex != 1 || e.Node.ModifiedIndex != 2 || e.PrevNode.TTL != 60 {
		t.Fatal(mustJSON(t, e))
	}
	if _, ok := s.NextExpiration(); ok {
		t.Fatal("TTL index still holds /f")
	}
	// Update with an empty value blanks a file (updatedir on a file).
	e = must(s.Update("/f", "", TTLOptions{}, t0))
	if *e.Node.Value != "" {
		t.Fatal(mustJSON(t, e))
	}
	must(s.Set("/d/x", false, "", TTLOptions{}, t0))
	_, err := s.Update("/d", "v", TTLOptions{}, t0)
	wantCode(t, err, EcodeNotFile, "/d")
	_, err = s.CompareAndSwap("/d", "v", 0, "w", TTLOptions{}, t0)
	wantCode(t, err, EcodeNotFile, "/d")
	_, err = s.CompareAndSwap("/missing", "v", 0, "w", TTLOptions{}, t0)
	wantCode(t, err, EcodeKeyNotFound, "/missing")
	// CAS with a TTL, then CAS by index without one clears it.
	e = must(s.CompareAndSwap("/f", "", 3, "c", ttl(10*time.Second, t0), t0))
	if e.Node.TTL != 10 || e.Node.CreatedIndex != 1 || e.Action != ActionCompareAndSwap {
		t.Fatal(mustJSON(t, e))
	}
	e = must(s.CompareAndSwap("/f", "c", e.Index(), "d", TTLOptions{}, t0))
	if e.Node.Expiration != nil {
		t.Fatal(mustJSON(t, e))
	}
	// CAD compare failures and dirs.
	_, err = s.CompareAndDelete("/f", "zz", 0, t0)
	wantCode(t, err, EcodeTestFailed, "[zz != d]")
	_, err = s.CompareAndDelete("/f", "", 1, t0)
	wantCode(t, err, EcodeTestFailed, fmt.Sprintf("[1 != %d]", e.Index()))
	_, err = s.CompareAndDelete("/d", "x", 0, t0)
	wantCode(t, err, EcodeNotFile, "/d")
	_, err = s.CompareAndDelete("/nope", "x", 0, t0)
	wantCode(t, err, EcodeKeyNotFound, "/nope")
	must(s.CompareAndDelete("/f", "", e.Index(), t0))
	checkInvariants(t, s)
}

func TestDeleteRules(t *testing.T) {
	s := New()
	must(s.Set("/f", false, "v", TTLOptions{}, t0))
	must(s.Set("/g", false, "v", TTLOptions{}, t0))
	// A file is deleted whatever dir and recursive say.
	e := must(s.Delete("/f", true, false, t0))
	if e.Node.Dir || e.Node.Value != nil || *e.PrevNode.Value != "v" {
		t.Fatal(mustJSON(t, e))
	}
	must(s.Delete("/g", false, true, t0))
	_, err := s.Delete("/f", false, false, t0)
	wantCode(t, err, EcodeKeyNotFound, "/f")
	// recursive removes the subtree and its TTLs.
	must(s.Set("/d/a/b", false, "v", ttl(time.Minute, t0), t0))
	must(s.Set("/d/c", true, "", ttl(time.Hour, t0), t0))
	e = must(s.Delete("/d", false, true, t0))
	if !e.Node.Dir || !e.PrevNode.Dir || e.PrevNode.Nodes != nil {
		t.Fatal(mustJSON(t, e))
	}
	if _, ok := s.NextExpiration(); ok {
		t.Fatal("TTL index keeps removed nodes")
	}
	checkInvariants(t, s)
}

func TestInOrderKeys(t *testing.T) {
	s := New()
	var keys []string
	for i := 0; i < 3; i++ {
		keys = append(keys, must(s.Create("/q/", false, fmt.Sprint(i), true, TTLOptions{}, t0)).Node.Key)
	}
	want := []string{"/q/00000000000000000001", "/q/00000000000000000002", "/q/00000000000000000003"}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("keys %v", keys)
	}
	e := must(s.Create("/q", true, "", true, TTLOptions{}, t0))
	if e.Node.Key != "/q/00000000000000000004" || !e.Node.Dir {
		t.Fatal(mustJSON(t, e))
	}
	g := must(s.Get("/q", false, true, t0))
	if len(g.Node.Nodes) != 4 || g.Node.Nodes[3].Key != e.Node.Key {
		t.Fatal(mustJSON(t, g))
	}
}

func TestTTLDisplayAndBoundaries(t *testing.T) {
	s := New()
	must(s.Set("/k", false, "v", TTLOptions{ExpireTime: t0.Add(1500 * time.Millisecond)}, t0))
	for _, c := range []struct {
		now  time.Duration
		want int64
	}{{0, 2}, {500 * time.Millisecond, 1}, {1400 * time.Millisecond, 1}, {1500 * time.Millisecond, 0}, {3 * time.Second, -1}} {
		g := must(s.Get("/k", false, false, t0.Add(c.now)))
		if g.Node.TTL != c.want {
			t.Errorf("at +%v ttl %d, want %d", c.now, g.Node.TTL, c.want)
		}
	}
	// Create and Set take an expiration before 2000 as permanent...
	old := TTLOptions{ExpireTime: time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := must(s.Set("/old", false, "v", old, t0))
	if e.Node.Expiration != nil {
		t.Fatal(mustJSON(t, e))
	}
	// ...Update keeps it (etcd's UpdateTTL), so the next sweep expires it.
	must(s.Update("/old", "w", old, t0))
	evs := s.DeleteExpiredKeys(t0)
	if len(evs) != 1 || evs[0].Node.Key != "/old" {
		t.Fatalf("expired %v", evs)
	}
	// An expiration equal to the tick time expires; one after it does not.
	if evs := s.DeleteExpiredKeys(t0.Add(1499 * time.Millisecond)); len(evs) != 0 {
		t.Fatal("expired early")
	}
	if evs := s.DeleteExpiredKeys(t0.Add(1500 * time.Millisecond)); len(evs) != 1 {
		t.Fatal("not expired at its time")
	}
}

func TestExpiryOrderAndDirs(t *testing.T) {
	s := New()
	exp := ttl(time.Second, t0)
	must(s.Set("/z", false, "v", exp, t0))
	must(s.Set("/a", false, "v", exp, t0))
	must(s.Set("/m", false, "v", ttl(500*time.Millisecond, t0), t0))
	must(s.Set("/dir", true, "", exp, t0))
	must(s.Set("/dir/child", false, "c", ttl(time.Hour, t0), t0))
	must(s.Set("/dir/sub/x", false, "x", TTLOptions{}, t0))
	must(s.Set("/keep", false, "v", ttl(time.Hour, t0), t0))
	if next, ok := s.NextExpiration(); !ok || !next.Equal(t0.Add(500*time.Millisecond)) {
		t.Fatalf("NextExpiration %v %v", next, ok)
	}
	w, err := s.Watch("/dir/sub/x", false, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	evs := s.DeleteExpiredKeys(t0.Add(time.Second))
	var got []string
	for i, e := range evs {
		got = append(got, e.Node.Key)
		if e.Action != ActionExpire || e.Index() != uint64(8+i) || e.PrevNode == nil {
			t.Fatal(mustJSON(t, e))
		}
	}
	// Earliest first; equal expirations by key; the dir's children go with
	// it, without events of their own.
	if fmt.Sprint(got) != "[/m /a /dir /z]" {
		t.Fatalf("expiry order %v", got)
	}
	if evs[2].Node.Dir != true || !evs[2].PrevNode.Dir {
		t.Fatal(mustJSON(t, evs[2]))
	}
	// A watcher on a removed descendant gets the dir's event.
	if e := <-w.EventChan(); e.Node.Key != "/dir" || e.Action != ActionExpire {
		t.Fatal(mustJSON(t, e))
	}
	if next, _ := s.NextExpiration(); !next.Equal(t0.Add(time.Hour)) {
		t.Fatal("child TTL left in the index")
	}
	if s.Stats().ExpireCount != 4 {
		t.Fatal("expire count")
	}
	checkInvariants(t, s)
}

func TestRefresh(t *testing.T) {
	s := New()
	_, err := s.Update("/nope", "", TTLOptions{ExpireTime: t0.Add(time.Minute), Refresh: true}, t0)
	wantCode(t, err, EcodeKeyNotFound, "/nope")
	_, err = s.Set("/nope", false, "", TTLOptions{ExpireTime: t0.Add(time.Minute), Refresh: true}, t0)
	wantCode(t, err, EcodeKeyNotFound, "/nope")
	must(s.Set("/k", false, "v", ttl(time.Minute, t0), t0))
	w, _ := s.Watch("/k", false, true, 0)
	defer w.Remove()
	e := must(s.Update("/k", "", TTLOptions{ExpireTime: t0.Add(time.Hour), Refresh: true}, t0))
	if !e.Refresh || *e.Node.Value != "v" || e.Node.TTL != 3600 {
		t.Fatal(mustJSON(t, e))
	}
	e = must(s.CompareAndSwap("/k", "v", 0, "", TTLOptions{ExpireTime: t0.Add(2 * time.Hour), Refresh: true}, t0))
	if !e.Refresh || *e.Node.Value != "v" || e.Action != ActionCompareAndSwap {
		t.Fatal(mustJSON(t, e))
	}
	if len(w.EventChan()) != 0 {
		t.Fatal("a refresh notified a watcher")
	}
	// Refreshes take an index and sit in the history, but history scans
	// skip them.
	if s.Index() != 3 {
		t.Fatalf("index %d", s.Index())
	}
	if _, err := s.Watch("/k", false, false, 2); err != nil {
		t.Fatal(err)
	}
	hw, _ := s.Watch("/k", false, false, 2)
	if len(hw.EventChan()) != 0 {
		t.Fatal("history scan returned a refresh")
	}
	// The Set path re-creates the node; on a dir it is 102.
	must(s.Set("/d", true, "", ttl(time.Minute, t0), t0))
	_, err = s.Set("/d", false, "", TTLOptions{ExpireTime: t0.Add(time.Hour), Refresh: true}, t0)
	wantCode(t, err, EcodeNotFile, "/d")
}

// TestDirTTLUpdate: etcd 3.5 fails here (etcd-io/etcd#13589); Larch does
// what etcd 2.3 did and its docs describe.
func TestDirTTLUpdate(t *testing.T) {
	s := New()
	must(s.Set("/tdir", true, "", ttl(30*time.Second, t0), t0))
	must(s.Set("/tdir/k", false, "v", TTLOptions{}, t0))
	e := must(s.Update("/tdir", "", ttl(time.Hour, t0), t0))
	want := `{"action":"update","node":{"key":"/tdir","dir":true,"expiration":"2026-11-21T11:12:55Z","ttl":3600,"modifiedIndex":3,"createdIndex":1},"prevNode":{"key":"/tdir","dir":true,"expiration":"2026-11-21T10:13:25Z","ttl":30,"modifiedIndex":1,"createdIndex":1}}`
	if got := mustJSON(t, e); got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	g := must(s.Get("/tdir", false, false, t0))
	if g.Node.TTL != 3600 || g.Node.ModifiedIndex != 3 {
		t.Fatal(mustJSON(t, g))
	}
	if evs := s.DeleteExpiredKeys(t0.Add(time.Minute)); len(evs) != 0 {
		t.Fatal("old dir TTL still in force")
	}
	// Refresh with prevExist also works on a dir.
	e = must(s.Update("/tdir", "", TTLOptions{ExpireTime: t0.Add(2 * time.Hour), Refresh: true}, t0))
	if !e.Refresh || e.Node.TTL != 7200 {
		t.Fatal(mustJSON(t, e))
	}
	// No TTL makes the dir permanent.
	e = must(s.Update("/tdir", "", TTLOptions{}, t0))
	if e.Node.Expiration != nil {
		t.Fatal(mustJSON(t, e))
	}
	if _, ok := s.NextExpiration(); ok {
		t.Fatal("dir still in the TTL index")
	}
	checkInvariants(t, s)
}

func TestStats(t *testing.T) {
	s := New()
	must(s.Set("/a", false, "v", TTLOptions{}, t0))
	s.Get("/a", false, false, t0)
	s.Get("/b", false, false, t0)
	s.Create("/a", false, "v", false, TTLOptions{}, t0)
	w, _ := s.Watch("/a", false, false, 0)
	st := s.Stats()
	if st.SetSuccess != 1 || st.GetSuccess != 1 || st.GetFail != 1 || st.CreateFail != 1 || st.Watchers != 1 {
		t.Fatalf("%+v", st)
	}
	w.Remove()
	if s.Stats().Watchers != 0 {
		t.Fatal("watcher count")
	}
}

func TestNewAtStartsAtIndex(t *testing.T) {
	now := time.Unix(1700000000, 0)
	s := NewAt(3)
	if s.Index() != 3 {
		t.Fatalf("index %d", s.Index())
	}
	ev, err := s.Create("/q", false, "job", true, TTLOptions{}, now)
	if err != nil {
		t.Fatal(err)
	}
	// In-order names are the store index, the same as createdIndex.
	if ev.Node.CreatedIndex != 4 || ev.Node.Key != "/q/00000000000000000004" {
		t.Fatalf("first in-order key %s at %d", ev.Node.Key, ev.Node.CreatedIndex)
	}
	// A watch from below the starting index waits from the first event on.
	w, err := s.Watch("/q", true, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-w.EventChan():
		if got.Node.CreatedIndex != 4 {
			t.Fatalf("history watch got %+v", got.Node)
		}
	default:
		t.Fatal("a watch from index 1 did not find the event at 4")
	}
}
