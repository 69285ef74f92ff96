package v3api_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/v3api"
)

// nextEvents reads from wch until it has n events.
func nextEvents(t *testing.T, wch clientv3.WatchChan, n int) []*clientv3.Event {
	t.Helper()
	var evs []*clientv3.Event
	timeout := time.After(10 * time.Second)
	for len(evs) < n {
		select {
		case resp, ok := <-wch:
			if !ok {
				t.Fatalf("watch closed after %d of %d events", len(evs), n)
			}
			if err := resp.Err(); err != nil {
				t.Fatalf("watch error after %d events: %v", len(evs), err)
			}
			evs = append(evs, resp.Events...)
		case <-timeout:
			t.Fatalf("received %d of %d events", len(evs), n)
		}
	}
	return evs
}

func eventString(ev *clientv3.Event) string {
	s := fmt.Sprintf("%s %s=%s@%d", ev.Type, ev.Kv.Key, ev.Kv.Value, ev.Kv.ModRevision)
	if ev.PrevKv != nil {
		s += fmt.Sprintf(" prev=%s", ev.PrevKv.Value)
	}
	return s
}

func TestWatchFromThePastAndLive(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "a", "1"))
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "a", "2"))
	wch := c.Watch(ctx(t), "a", clientv3.WithRev(1), clientv3.WithPrevKV())
	must[*clientv3.DeleteResponse](t)(c.Delete(ctx(t), "a"))
	evs := nextEvents(t, wch, 3)
	var got []string
	for _, ev := range evs {
		got = append(got, eventString(ev))
	}
	want := []string{"PUT a=1@2", "PUT a=2@3 prev=1", "DELETE a=@4 prev=2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}

func TestWatchCompactedRevisionIsCancelled(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	for i := range 5 {
		must[*clientv3.PutResponse](t)(c.Put(ctx(t), "k", fmt.Sprint(i)))
	}
	must[*clientv3.CompactResponse](t)(c.Compact(ctx(t), 4))
	wch := c.Watch(ctx(t), "k", clientv3.WithRev(2))
	select {
	case resp := <-wch:
		if resp.CompactRevision != 4 || !resp.Canceled || resp.Err() != rpctypes.ErrCompacted {
			t.Fatalf("response %+v (err %v), want cancelled at compact revision 4", resp, resp.Err())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no cancellation")
	}
}

func TestWatchFiltersRangesAndPrefix(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	noPut := c.Watch(ctx(t), "p/", clientv3.WithPrefix(), clientv3.WithFilterPut())
	noDel := c.Watch(ctx(t), "p/", clientv3.WithPrefix(), clientv3.WithFilterDelete())
	fromKey := c.Watch(ctx(t), "p/b", clientv3.WithFromKey())
	// Watches are created asynchronously; a put through the same client
	// after a progress round trip lands after all of them.
	if err := c.RequestProgress(ctx(t)); err != nil {
		t.Fatal(err)
	}
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "p/a", "1"))
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "p/b", "2"))
	must[*clientv3.DeleteResponse](t)(c.Delete(ctx(t), "p/", clientv3.WithPrefix()))
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "q", "3"))
	check := func(name string, wch clientv3.WatchChan, want ...string) {
		t.Helper()
		evs := nextEvents(t, wch, len(want))
		var got []string
		for _, ev := range evs {
			got = append(got, eventString(ev))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	check("NOPUT", noPut, "DELETE p/a=@4", "DELETE p/b=@4")
	check("NODELETE", noDel, "PUT p/a=1@2", "PUT p/b=2@3")
	check("from key", fromKey, "PUT p/b=2@3", "DELETE p/b=@4", "PUT q=3@5")
}

func TestWatchProgress(t *testing.T) {
	m := startMember(t, func(_ *cluster.Config, a *v3api.Config) { a.WatchProgressNotifyInterval = 50 * time.Millisecond })
	c := m.client(t)
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "x", "1"))
	wch := c.Watch(ctx(t), "k", clientv3.WithProgressNotify())
	for {
		select {
		case resp := <-wch:
			if resp.IsProgressNotify() {
				if resp.Header.Revision != 2 {
					t.Fatalf("progress at revision %d, want 2", resp.Header.Revision)
				}
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no progress notification")
		}
	}
}

func TestWatchRequestProgress(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "x", "1"))
	wctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	wch := c.Watch(wctx, "k")
	if err := c.RequestProgress(wctx); err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-wch:
		if !resp.IsProgressNotify() || resp.Header.Revision != 2 {
			t.Fatalf("response %+v, want a progress notification at revision 2", resp)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to the progress request")
	}
}

func TestThousandWatchersOnOneKeySeeEveryEventInOrder(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	const watchers, writes = 1000, 30
	wchs := make([]clientv3.WatchChan, watchers)
	for i := range wchs {
		wchs[i] = c.Watch(ctx(t), "hot", clientv3.WithRev(2))
	}
	for i := range writes {
		must[*clientv3.PutResponse](t)(c.Put(ctx(t), "hot", fmt.Sprint(i)))
	}
	for i, wch := range wchs {
		evs := nextEvents(t, wch, writes)
		for j, ev := range evs {
			if string(ev.Kv.Value) != fmt.Sprint(j) || ev.Type != mvccpb.PUT {
				t.Fatalf("watcher %d event %d: %s", i, j, eventString(ev))
			}
		}
	}
}

// TestStalledWatcherDoesNotHoldUpWrites opens a watch stream that reads
// nothing while many writes go through: every write completes (the apply
// loop never waits for a watcher), and when the stream reads at last it
// gets every event, in order, with no gap and no duplicate.
func TestStalledWatcherDoesNotHoldUpWrites(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	wc := pb.NewWatchClient(c.ActiveConnection())
	sctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	stream, err := wc.Watch(sctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{
		Key: []byte("s/"), RangeEnd: []byte("s0")}}}); err != nil {
		t.Fatal(err)
	}
	created, err := stream.Recv()
	if err != nil || !created.Created {
		t.Fatalf("creation: %+v, %v", created, err)
	}
	// Far more than the stream's queue and gRPC's flow-control windows hold.
	const writes = 3000
	value := string(make([]byte, 1024))
	for i := range writes {
		if _, err := c.Put(ctx(t), fmt.Sprintf("s/%04d", i), value); err != nil {
			t.Fatalf("write %d with a stalled watcher: %v", i, err)
		}
	}
	next := int64(2)
	for next < 2+writes {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range resp.Events {
			if ev.Kv.ModRevision != next {
				t.Fatalf("event at revision %d, want %d", ev.Kv.ModRevision, next)
			}
			next++
		}
	}
}

// TestWatchFragmentsLargeResponses deletes enough keys in one revision that
// their events with prev_kv pass etcd's limit for one watch response (the
// request limit plus the 512 KiB etcd allows gRPC): a watcher created with
// fragment gets them in several responses, each but the last marked as a
// fragment, together every event once and in key order; the etcd client
// put together with WithFragment shows them as one response; a watcher
// without fragment gets one response.
func TestWatchFragmentsLargeResponses(t *testing.T) {
	const limit = 1024
	m := startMember(t, func(c *cluster.Config, api *v3api.Config) {
		c.MaxRequestBytes = limit
		api.MaxRequestBytes = limit
	})
	c := m.client(t)
	const keys = 600
	value := string(make([]byte, 900))
	for i := range keys {
		must[*clientv3.PutResponse](t)(c.Put(ctx(t), fmt.Sprintf("f/%04d", i), value))
	}

	stream, err := pb.NewWatchClient(c.ActiveConnection()).Watch(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for id, fragment := range []bool{true, false} {
		if err := stream.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{
			Key: []byte("f/"), RangeEnd: []byte("f0"), PrevKv: true, Fragment: fragment, WatchId: int64(id + 1)}}}); err != nil {
			t.Fatal(err)
		}
		if created, err := stream.Recv(); err != nil || !created.Created {
			t.Fatalf("creation: %+v, %v", created, err)
		}
	}
	wch := c.Watch(ctx(t), "f/", clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithFragment())
	del := must[*clientv3.DeleteResponse](t)(c.Delete(ctx(t), "f/", clientv3.WithPrefix()))

	parts := map[int64][]*pb.WatchResponse{}
	for done := 0; done < 2; {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		parts[resp.WatchId] = append(parts[resp.WatchId], resp)
		if !resp.Fragment {
			done++
		}
	}
	frags := parts[1]
	if len(frags) < 2 {
		t.Fatalf("a %d-event response came in %d part(s) to a fragment watcher", keys, len(frags))
	}
	var got []string
	for i, p := range frags {
		if p.Fragment != (i < len(frags)-1) {
			t.Fatalf("part %d of %d: fragment=%v", i+1, len(frags), p.Fragment)
		}
		// etcd fills a part until one more event would reach the limit.
		if len(p.Events) > 1 && p.Size() >= limit+512*1024 {
			t.Fatalf("part %d is %d bytes, over the limit", i+1, p.Size())
		}
		if i < len(frags)-1 {
			fuller := *p
			fuller.Events = append(slices.Clip(p.Events), frags[i+1].Events[0])
			if fuller.Size() < limit+512*1024 {
				t.Fatalf("part %d (%d bytes) ends before the limit", i+1, p.Size())
			}
		}
		for _, ev := range p.Events {
			if ev.Kv.ModRevision != del.Header.Revision || ev.PrevKv == nil {
				t.Fatalf("event %s at %d, prev_kv %v", ev.Kv.Key, ev.Kv.ModRevision, ev.PrevKv != nil)
			}
			got = append(got, string(ev.Kv.Key))
		}
	}
	if len(got) != keys || got[0] != "f/0000" || got[keys-1] != fmt.Sprintf("f/%04d", keys-1) {
		t.Fatalf("fragments carried %d events (%v … %v), want %d", len(got), got[0], got[len(got)-1], keys)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1] >= got[i] {
			t.Fatalf("events out of key order: %s before %s", got[i-1], got[i])
		}
	}
	if whole := parts[2]; len(whole) != 1 || len(whole[0].Events) != keys {
		t.Fatalf("a watcher without fragment got %d responses", len(whole))
	}
	select {
	case resp := <-wch:
		if len(resp.Events) != keys {
			t.Fatalf("the etcd client put together %d events, want %d", len(resp.Events), keys)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the etcd client's fragment watcher got nothing")
	}
}
