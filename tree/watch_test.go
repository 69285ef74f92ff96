package tree

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// got returns the events buffered in w's channel without blocking.
func got(w *Watcher) []string {
	var out []string
	for {
		select {
		case e, ok := <-w.EventChan():
			if !ok {
				return append(out, "closed")
			}
			out = append(out, fmt.Sprintf("%s %s %d", e.Action, e.Node.Key, e.Index()))
		default:
			return out
		}
	}
}

func watch(t *testing.T, s *Store, key string, recursive, stream bool, since uint64) *Watcher {
	t.Helper()
	w, err := s.Watch(key, recursive, stream, since)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestLiveWatch(t *testing.T) {
	s := New()
	exact := watch(t, s, "/a/b", false, false, 0)
	parent := watch(t, s, "/a", false, false, 0)
	rec := watch(t, s, "/a", true, false, 0)
	root := watch(t, s, "/", true, true, 0)
	other := watch(t, s, "/ab", true, false, 0)
	must(s.Set("/a/b", false, "1", TTLOptions{}, t0))
	if g := got(exact); fmt.Sprint(g) != "[set /a/b 1]" {
		t.Errorf("exact %v", g)
	}
	if g := got(parent); len(g) != 0 {
		t.Errorf("non-recursive parent got %v", g)
	}
	if g := got(rec); fmt.Sprint(g) != "[set /a/b 1]" {
		t.Errorf("recursive %v", g)
	}
	if g := got(other); len(g) != 0 {
		t.Errorf("/ab got %v", g)
	}
	// One-shot watchers are gone after their event; the stream stays.
	must(s.Set("/a/b", false, "2", TTLOptions{}, t0))
	if g := got(exact); len(g) != 0 {
		t.Errorf("one-shot fired twice: %v", g)
	}
	if g := got(root); fmt.Sprint(g) != "[set /a/b 1 set /a/b 2]" {
		t.Errorf("stream %v", g)
	}
	// The non-recursive watcher on /a fires on a change of /a itself.
	must(s.Delete("/a", true, true, t0))
	if g := got(parent); fmt.Sprint(g) != "[delete /a 3]" {
		t.Errorf("parent %v", g)
	}
	// A one-shot watcher waits for index >= sinceIndex.
	later := watch(t, s, "/x", false, false, 6)
	must(s.Set("/x", false, "1", TTLOptions{}, t0)) // 4
	must(s.Set("/x", false, "2", TTLOptions{}, t0)) // 5
	must(s.Set("/x", false, "3", TTLOptions{}, t0)) // 6
	if g := got(later); fmt.Sprint(g) != "[set /x 6]" {
		t.Errorf("future sinceIndex %v", g)
	}
	if live := s.Stats().Watchers; live != 2 { // root stream, /ab
		t.Errorf("%d watchers registered", live)
	}
	root.Remove()
	root.Remove()
	if g := got(root); g[len(g)-1] != "closed" {
		t.Errorf("Remove did not close: %v", g)
	}
}

func TestHiddenWatch(t *testing.T) {
	s := New()
	rec := watch(t, s, "/hd", true, true, 0)
	recRoot := watch(t, s, "/", true, true, 0)
	direct := watch(t, s, "/hd/_hidden", false, true, 0)
	inHidden := watch(t, s, "/hd/_h2", true, true, 0)
	must(s.Set("/hd/_hidden", false, "x", TTLOptions{}, t0))
	must(s.Set("/hd/_h2/child", false, "x", TTLOptions{}, t0))
	if g := got(rec); len(g) != 0 {
		t.Errorf("recursive parent saw hidden %v", g)
	}
	if g := got(recRoot); len(g) != 0 {
		t.Errorf("root saw hidden %v", g)
	}
	if g := got(direct); fmt.Sprint(g) != "[set /hd/_hidden 1]" {
		t.Errorf("direct %v", g)
	}
	if g := got(inHidden); fmt.Sprint(g) != "[set /hd/_h2/child 2]" {
		t.Errorf("watch inside hidden dir %v", g)
	}
}

func TestDeleteNotifiesDescendantsAndStreamTwice(t *testing.T) {
	s := New()
	must(s.Set("/pd/child", false, "v", TTLOptions{}, t0))
	child := watch(t, s, "/pd/child", false, false, 0)
	stream := watch(t, s, "/pd", true, true, 0)
	fileStream := watch(t, s, "/f", false, true, 0)
	must(s.Set("/f", false, "v", TTLOptions{}, t0))
	must(s.Delete("/pd", false, true, t0))
	must(s.Delete("/f", false, false, t0))
	if g := got(child); fmt.Sprint(g) != "[delete /pd 3]" {
		t.Errorf("child watcher %v", g)
	}
	// etcd's quirk: a stream watcher on the deleted node sees it twice.
	if g := got(stream); fmt.Sprint(g) != "[delete /pd 3 delete /pd 3]" {
		t.Errorf("stream %v", g)
	}
	if g := got(fileStream); fmt.Sprint(g) != "[set /f 2 delete /f 4 delete /f 4]" {
		t.Errorf("file stream %v", g)
	}
}

func TestWatchFromHistory(t *testing.T) {
	s := New()
	must(s.Set("/a", false, "1", TTLOptions{}, t0))                                         // 1
	must(s.Set("/b/c", false, "1", TTLOptions{}, t0))                                       // 2
	must(s.Set("/pfx", true, "", TTLOptions{}, t0))                                         // 3
	must(s.Delete("/pfx", true, false, t0))                                                 // 4
	must(s.Set("/b/_h", false, "1", TTLOptions{}, t0))                                      // 5
	must(s.Update("/a", "1", TTLOptions{Refresh: true, ExpireTime: t0.Add(time.Hour)}, t0)) // 6
	for _, c := range []struct {
		key       string
		recursive bool
		since     uint64
		want      string
	}{
		{"/a", false, 1, "[set /a 1]"},
		{"/a", false, 2, "[]"}, // 6 is a refresh: skipped
		{"/b", false, 1, "[]"}, // not recursive
		{"/b", true, 1, "[set /b/c 2]"},
		{"/b", true, 3, "[set /b/_h 5]"}, // history scans do not filter hidden keys (etcd)
		{"/", true, 3, "[set /pfx 3]"},
		{"/pfxother", false, 1, "[delete /pfx 4]"}, // dir delete: plain string prefix (etcd quirk)
		{"/pfx/deep", false, 1, "[delete /pfx 4]"},
		{"/nothing", true, 1, "[]"},
	} {
		w := watch(t, s, c.key, c.recursive, false, c.since)
		if g := fmt.Sprint(got(w)); g != c.want && !(c.want == "[]" && g == "[]") {
			t.Errorf("watch %s rec=%v since %d: %s, want %s", c.key, c.recursive, c.since, g, c.want)
		}
		w.Remove()
	}
	// The event from the history carries the current index as EtcdIndex,
	// and is a copy.
	w := watch(t, s, "/a", false, false, 1)
	e := <-w.EventChan()
	if e.EtcdIndex != 6 || w.StartIndex() != 6 {
		t.Errorf("EtcdIndex %d StartIndex %d, want 6", e.EtcdIndex, w.StartIndex())
	}
	// A stream watch served from the history gets only that event (etcd).
	st := watch(t, s, "/a", false, true, 1)
	must(s.Set("/a", false, "2", TTLOptions{}, t0))
	if g := got(st); fmt.Sprint(g) != "[set /a 1]" {
		t.Errorf("stream from history %v", g)
	}
	if s.Stats().Watchers != 0 {
		t.Error("history watchers were registered")
	}
}

func TestHistoryWindow(t *testing.T) {
	s := New()
	for i := 0; i < 1100; i++ {
		must(s.Set("/bulk", false, fmt.Sprint(i), TTLOptions{}, t0))
	}
	_, err := s.Watch("/bulk", false, false, 100)
	wantCode(t, err, EcodeEventIndexCleared, "the requested history has been cleared [101/100]")
	if err.(*Error).Index != 1100 {
		t.Errorf("401 index %d", err.(*Error).Index)
	}
	w := watch(t, s, "/bulk", false, false, 101)
	if g := got(w); fmt.Sprint(g) != "[set /bulk 101]" {
		t.Errorf("oldest kept %v", g)
	}
	w = watch(t, s, "/bulk", false, false, 1100)
	if g := got(w); fmt.Sprint(g) != "[set /bulk 1100]" {
		t.Errorf("newest %v", g)
	}
	w = watch(t, s, "/bulk", false, false, 1101)
	if g := got(w); len(g) != 0 {
		t.Errorf("future %v", g)
	}
	checkInvariants(t, s)
}

// TestSlowWatcherDropped: the writer never blocks; a stream watcher whose
// buffer is full is unregistered and keeps what it had.
func TestSlowWatcherDropped(t *testing.T) {
	s := New()
	w := watch(t, s, "/k", false, true, 0)
	for i := 0; i < watcherBuffer+5; i++ {
		must(s.Set("/k", false, fmt.Sprint(i), TTLOptions{}, t0))
	}
	if s.Stats().Watchers != 0 {
		t.Fatal("slow watcher still registered")
	}
	g := got(w)
	if len(g) != watcherBuffer || g[len(g)-1] == "closed" {
		t.Fatalf("%d events buffered (closed=%v)", len(g), g[len(g)-1] == "closed")
	}
	w.Remove()
}

// TestConcurrentReaders runs gets, watches and snapshots against writes
// (meaningful under -race).
func TestConcurrentReaders(t *testing.T) {
	s := New()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.Get("/", true, true, t0)
				if w, err := s.Watch("/c", true, true, 0); err == nil {
					w.Remove()
				}
				s.WriteTo(discard{})
				s.Stats()
			}
		}()
	}
	for i := 0; i < 2000; i++ {
		must(s.Set(fmt.Sprintf("/c/%d/k", i%17), false, "v", ttl(time.Duration(i%5)*time.Second, t0), t0))
		if i%100 == 0 {
			s.DeleteExpiredKeys(t0.Add(2 * time.Second))
		}
	}
	close(stop)
	wg.Wait()
	checkInvariants(t, s)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
