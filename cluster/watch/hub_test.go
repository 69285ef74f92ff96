package watch

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/larchkv/larch/tree/mvcc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fixture struct {
	t     *testing.T
	store *mvcc.Store
	hub   *Hub
}

func newFixture(t *testing.T) *fixture {
	s := mvcc.New()
	h := New(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(h.Stop)
	return &fixture{t: t, store: s, hub: h}
}

// put writes key=value as the apply loop does: store, then Notify.
func (f *fixture) put(key, value string) int64 {
	f.t.Helper()
	res, evs, err := f.store.Put(mvcc.PutRequest{Key: []byte(key), Value: []byte(value)}, noLeases{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.hub.Notify(res.Revision, evs)
	return res.Revision
}

func (f *fixture) del(key string) int64 {
	f.t.Helper()
	res, evs, err := f.store.Delete(mvcc.DeleteRequest{Key: []byte(key)})
	if err != nil {
		f.t.Fatal(err)
	}
	f.hub.Notify(res.Revision, evs)
	return res.Revision
}

type noLeases struct{}

func (noLeases) LeaseExists(int64) bool { return false }

// collect reads responses until it has n events or a cancellation,
// kicking the hub after each as a stream's sender does.
func collect(t *testing.T, h *Hub, ch chan Response, n int) ([]mvcc.Event, *Response) {
	t.Helper()
	var evs []mvcc.Event
	timeout := time.After(10 * time.Second)
	for len(evs) < n {
		select {
		case r := <-ch:
			h.Kick(ch)
			if r.Canceled {
				return evs, &r
			}
			evs = append(evs, r.Events...)
		case <-timeout:
			t.Fatalf("received %d of %d events", len(evs), n)
		}
	}
	return evs, nil
}

func render(evs []mvcc.Event) string {
	out := ""
	for _, ev := range evs {
		typ := "put"
		if ev.Type == mvcc.EventDelete {
			typ = "del"
		}
		out += fmt.Sprintf("%s %s=%s@%d;", typ, ev.KV.Key, ev.KV.Value, ev.KV.ModRevision)
	}
	return out
}

func TestWatchFromThePastThenLive(t *testing.T) {
	f := newFixture(t)
	f.put("a", "1")
	f.put("b", "x")
	f.put("a", "2")
	ch := make(chan Response, 16)
	f.hub.Watch(Request{WatchID: 1, Key: []byte("a"), StartRevision: 1}, ch)
	f.put("a", "3")
	f.del("a")
	evs, _ := collect(t, f.hub, ch, 4)
	if got, want := render(evs), "put a=1@2;put a=2@4;put a=3@5;del a=@6;"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
}

func TestSlowWatcherCatchesUpWithoutGapsOrDuplicates(t *testing.T) {
	f := newFixture(t)
	ch := make(chan Response, 2) // far smaller than what comes
	w, _ := f.hub.Watch(Request{WatchID: 7, Key: []byte("k"), End: []byte("l")}, ch)
	const n = 500
	for i := range n {
		f.put(fmt.Sprintf("k%03d", i%10), fmt.Sprint(i))
	}
	// Writes never waited for the watcher; now it reads everything.
	evs, _ := collect(t, f.hub, ch, n)
	for i, ev := range evs {
		if want := fmt.Sprint(i); string(ev.KV.Value) != want || ev.KV.ModRevision != int64(i+2) {
			t.Fatalf("event %d: %s, want value %s at revision %d", i, render(evs[i:i+1]), want, i+2)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !f.hub.Synced(w) {
		if time.Now().After(deadline) {
			t.Fatal("the watcher never synced again")
		}
		time.Sleep(time.Millisecond) // catch-up has no event to wait on from here
	}
	f.put("k999", "live")
	if evs, _ := collect(t, f.hub, ch, 1); string(evs[0].KV.Value) != "live" {
		t.Fatalf("after catching up: %s", render(evs))
	}
}

func TestCompactedStartIsCancelled(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		f.put("a", fmt.Sprint(i))
	}
	if err := f.store.Compact(4); err != nil {
		t.Fatal(err)
	}
	ch := make(chan Response, 4)
	f.hub.Watch(Request{WatchID: 3, Key: []byte("a"), StartRevision: 2}, ch)
	_, canceled := collect(t, f.hub, ch, 1)
	if canceled == nil || canceled.CompactRevision != 4 || canceled.WatchID != 3 {
		t.Fatalf("cancel %+v, want one with compact revision 4", canceled)
	}
}

func TestFiltersAndRanges(t *testing.T) {
	f := newFixture(t)
	noPut := make(chan Response, 16)
	noDel := make(chan Response, 16)
	all := make(chan Response, 16)
	f.hub.Watch(Request{WatchID: 1, Key: []byte("a"), End: []byte{0}, NoPut: true}, noPut)
	f.hub.Watch(Request{WatchID: 2, Key: []byte("b"), End: []byte("c"), NoDelete: true}, noDel)
	f.hub.Watch(Request{WatchID: 3, Key: []byte{0}, End: []byte{0}}, all)
	f.put("a", "1")
	f.put("b1", "2")
	f.del("b1")
	f.put("c", "3")
	f.del("a")
	if evs, _ := collect(t, f.hub, noPut, 2); render(evs) != "del b1=@4;del a=@6;" {
		t.Fatalf("NOPUT watcher: %s", render(evs))
	}
	if evs, _ := collect(t, f.hub, noDel, 1); render(evs) != "put b1=2@3;" {
		t.Fatalf("NODELETE range watcher: %s", render(evs))
	}
	if evs, _ := collect(t, f.hub, all, 5); len(evs) != 5 {
		t.Fatalf("all-keys watcher: %s", render(evs))
	}
}

func TestManyWatchersOnOneKeySeeEveryEventInOrder(t *testing.T) {
	f := newFixture(t)
	const watchers, writes = 1000, 50
	chans := make([]chan Response, watchers)
	for i := range chans {
		// Small queues: most watchers fall behind and catch up.
		chans[i] = make(chan Response, 1+i%8)
		f.hub.Watch(Request{WatchID: int64(i), Key: []byte("hot")}, chans[i])
	}
	for i := range writes {
		f.put("hot", fmt.Sprint(i))
	}
	for i, ch := range chans {
		evs, _ := collect(t, f.hub, ch, writes)
		for j, ev := range evs {
			if string(ev.KV.Value) != fmt.Sprint(j) {
				t.Fatalf("watcher %d, event %d: %s", i, j, render(evs[j:j+1]))
			}
		}
	}
}

// A watcher that starts in the future must not get earlier revisions when
// a leader's snapshot is restored under it.
func TestRestoredKeepsFutureStart(t *testing.T) {
	f := newFixture(t)
	ch := make(chan Response, 16)
	f.hub.Watch(Request{WatchID: 1, Key: []byte("a"), StartRevision: 100}, ch)
	other := mvcc.New()
	for _, v := range []string{"1", "2", "3", "4"} {
		if _, _, err := other.Put(mvcc.PutRequest{Key: []byte("a"), Value: []byte(v)}, noLeases{}); err != nil {
			t.Fatal(err)
		}
	}
	f.store.ReplaceWith(other)
	f.hub.Restored(f.store.Rev())
	// The restored revisions are below 100: the watcher's first event is
	// the first write at 100 or later.
	for f.store.Rev() < 99 {
		f.put("b", "filler")
	}
	f.put("a", "at-100")
	evs, _ := collect(t, f.hub, ch, 1)
	if got := render(evs); got != "put a=at-100@100;" {
		t.Fatalf("first event after the restore: %s, want the one at 100", got)
	}
}

// A progress notification is only queued for a synced watcher, under the
// lock that orders events: it can never claim a revision whose event the
// watcher has not been sent.
func TestProgressNeverOvertakesAnEvent(t *testing.T) {
	f := newFixture(t)
	ch := make(chan Response, 1)
	w, _ := f.hub.Watch(Request{WatchID: 1, Key: []byte("a")}, ch)
	ch <- Response{WatchID: 99} // the stream's queue is full
	rev := f.put("a", "1")      // the event finds it full: the watcher falls behind
	<-ch                        // the stream drains one
	if f.hub.SendProgress(w) {
		first := <-ch
		t.Fatalf("progress at %d queued while the event at %d was not sent", first.Revision, rev)
	}
	if evs, _ := collect(t, f.hub, ch, 1); evs[0].KV.ModRevision != rev {
		t.Fatalf("caught up with %s", render(evs))
	}
	deadline := time.Now().Add(10 * time.Second)
	for !f.hub.SendProgress(w) {
		if time.Now().After(deadline) {
			t.Fatal("no progress once synced")
		}
		time.Sleep(time.Millisecond) // moving back to the synced has no event
	}
	if p := <-ch; !p.Progress || p.Revision != rev {
		t.Fatalf("progress %+v, want at %d", p, rev)
	}
}
