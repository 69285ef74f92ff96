package clustertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestWatchSurvivesMemberKills keeps a watcher open while every member in
// turn, the leader first, is killed and restarted under a stream of
// writes. etcd's client reconnects and resumes from its last revision; the
// watcher must see every acknowledged write, in revision order, none twice.
func TestWatchSurvivesMemberKills(t *testing.T) {
	c := New(t, Config{Size: 3})
	watcher := c.Client()
	wctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wch := watcher.Watch(wctx, "w/", clientv3.WithPrefix(), clientv3.WithRev(1))

	var mu sync.Mutex
	acked := map[string]int64{} // key -> revision of its acknowledged put
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		cli := c.Client()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key := fmt.Sprintf("w/%05d", i)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			resp, err := cli.Put(ctx, key, "v")
			cancel()
			if err == nil {
				mu.Lock()
				acked[key] = resp.Header.Revision
				mu.Unlock()
			}
		}
	}()

	// Between kills, the writes go on until some more are acknowledged.
	ackedAtLeast := func(n int) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			got := len(acked)
			mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d writes acknowledged, waiting for %d", got, n)
			}
			time.Sleep(5 * time.Millisecond) // acknowledgements have no event to wait on here
		}
	}
	kill := func(m *Member) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		ackedAtLeast(n + 20)
		m.Kill()
		m.Restart()
		c.WaitLeader()
	}
	kill(c.WaitLeader())
	for _, m := range c.Members() {
		kill(m)
	}
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	ackedAtLeast(n + 20)
	close(stop)
	<-writerDone

	mu.Lock()
	want := len(acked)
	var last int64
	for _, rev := range acked {
		last = max(last, rev)
	}
	mu.Unlock()
	if want < 20 {
		t.Fatalf("only %d writes acknowledged", want)
	}
	seen := map[string]int64{}
	var prev int64
	timeout := time.After(30 * time.Second)
	for prev < last {
		select {
		case resp, ok := <-wch:
			if !ok {
				t.Fatalf("watch channel closed at revision %d", prev)
			}
			if err := resp.Err(); err != nil {
				t.Fatalf("watch error at revision %d: %v", prev, err)
			}
			for _, ev := range resp.Events {
				rev := ev.Kv.ModRevision
				if rev <= prev {
					t.Fatalf("event at revision %d after %d: duplicated or out of order", rev, prev)
				}
				prev = rev
				seen[string(ev.Kv.Key)] = rev
			}
		case <-timeout:
			t.Fatalf("watcher reached revision %d of %d", prev, last)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for key, rev := range acked {
		if seen[key] != rev {
			t.Fatalf("acknowledged put of %s at revision %d seen at %d", key, rev, seen[key])
		}
	}
}

// TestRequireLeaderWatchEndsWithoutLeader: a watch made with
// clientv3.WithRequireLeader (as etcdctl's) on a member cut off from the
// others ends with etcd's "no leader" error instead of waiting forever.
func TestRequireLeaderWatchEndsWithoutLeader(t *testing.T) {
	c := New(t, Config{Size: 3})
	m := c.Followers(c.WaitLeader())[0]
	cli := m.Client()
	wch := cli.Watch(clientv3.WithRequireLeader(context.Background()), "k")
	if err := cli.RequestProgress(clientv3.WithRequireLeader(context.Background())); err != nil {
		t.Fatal(err)
	}
	c.Isolate(m)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case resp, ok := <-wch:
			if !ok {
				t.Fatal("watch closed without an error")
			}
			if err := resp.Err(); err != nil {
				if err.Error() != "etcdserver: no leader" {
					t.Fatalf("watch ended with %v, want etcdserver: no leader", err)
				}
				return
			}
		case <-timeout:
			t.Fatal("the watch of a leaderless member did not end")
		}
	}
}
