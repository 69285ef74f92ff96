package clustertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/tree/lease"
)

// TestLeaseKeptAliveThroughFollowerSurvivesLeaderKill: keep-alives sent to
// a follower reach the leader; the leader is killed; the new leader gives
// the lease its time back and the keep-alives go on, so the lease never
// expires; once they stop, it does, and its key goes.
func TestLeaseKeptAliveThroughFollowerSurvivesLeaderKill(t *testing.T) {
	c := New(t, Config{Size: 3})
	leader := c.WaitLeader()
	f := c.Followers(leader)[0]
	cli := f.Client()
	// A TTL of 3 leaves the client's keep-alive cadence (TTL/3 on a 500 ms
	// tick, forwarded to the leader) room for a slow round trip.
	g, err := cli.Grant(ctxT(t, 10*time.Second), 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctxT(t, 10*time.Second), "leased", "v", clientv3.WithLease(g.ID)); err != nil {
		t.Fatal(err)
	}
	kctx, stopKeepAlive := context.WithCancel(context.Background())
	defer stopKeepAlive()
	ka, err := cli.KeepAlive(kctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range ka {
		}
	}()
	leader.Kill()
	c.WaitLeader()
	// More than two TTLs later the key is still there.
	wch := cli.Watch(ctxT(t, 30*time.Second), "leased", clientv3.WithRev(1))
	timeout := time.After(7 * time.Second)
	for waiting := true; waiting; {
		select {
		case resp := <-wch:
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					t.Fatal("a lease kept alive expired")
				}
			}
		case <-timeout:
			waiting = false
		}
	}
	ttl, err := cli.TimeToLive(ctxT(t, 10*time.Second), g.ID, clientv3.WithAttachedKeys())
	if err != nil || ttl.TTL <= 0 || len(ttl.Keys) != 1 {
		t.Fatalf("time to live through a follower: %+v, %v", ttl, err)
	}
	leader.Restart()
	stopKeepAlive()
	for {
		select {
		case resp := <-wch:
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					return
				}
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the lease did not expire once its keep-alives stopped")
		}
	}
}

// TestKeepAliveThroughFollowerWaitsOutAnElection: a renewal that reaches
// a follower while the leader is gone waits for the next leader, as
// etcd's does, instead of failing the client's keep-alive stream.
func TestKeepAliveThroughFollowerWaitsOutAnElection(t *testing.T) {
	c := New(t, Config{Size: 3})
	leader := c.WaitLeader()
	f := c.Followers(leader)[0]
	g, err := f.Client().Grant(ctxT(t, 10*time.Second), 30)
	if err != nil {
		t.Fatal(err)
	}
	leader.Kill()
	ttl, err := f.Server().LeaseKeepAlive(ctxT(t, 20*time.Second), int64(g.ID))
	if err != nil || ttl != 30 {
		t.Fatalf("renewal through a follower during an election: ttl %d, %v", ttl, err)
	}
	if now := c.WaitLeader(); now == leader {
		t.Fatal("the killed member leads")
	}
}

// TestLeasesSurviveRestart: leases and their keys come back from the log
// and from snapshots.
func TestLeasesSurviveRestart(t *testing.T) {
	c := New(t, Config{Size: 3, Tune: func(cfg *cluster.Config) { cfg.SnapshotCount = 20 }})
	cli := c.Client()
	g, err := cli.Grant(ctxT(t, 10*time.Second), 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := cli.Put(ctxT(t, 10*time.Second), "k", fmt.Sprint(i), clientv3.WithLease(g.ID)); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range c.Members() {
		m.Stop()
	}
	for _, m := range c.Members() {
		m.Restart()
	}
	for _, m := range c.Members() {
		m.WaitReady()
		l, ok := m.Server().Leases().Get(lease.ID(g.ID))
		if !ok || l.TTL != 100 || len(l.Keys) != 1 {
			t.Fatalf("%s after restart: lease %+v, %v", m.Name, l, ok)
		}
	}
	ttl, err := c.Client().TimeToLive(ctxT(t, 10*time.Second), g.ID)
	if err != nil || ttl.GrantedTTL != 100 || ttl.TTL <= 0 {
		t.Fatalf("time to live after restart: %+v, %v", ttl, err)
	}
}

// TestCheckpointedLeaseKeepsItsTimeAcrossLeaderChange: the leader records
// the time left on a lease; a new leader starts from that, not from the
// whole TTL, so a lease nobody renews does not live on through elections.
func TestCheckpointedLeaseKeepsItsTimeAcrossLeaderChange(t *testing.T) {
	c := New(t, Config{Size: 3, Tune: func(cfg *cluster.Config) { cfg.LeaseCheckpointInterval = 200 * time.Millisecond }})
	leader := c.WaitLeader()
	g, err := leader.Client().Grant(ctxT(t, 10*time.Second), 60)
	if err != nil {
		t.Fatal(err)
	}
	// Wait until a checkpoint recorded less than the whole TTL on every member.
	deadline := time.Now().Add(20 * time.Second)
	for _, m := range c.Members() {
		for {
			l, ok := m.Server().Leases().Get(lease.ID(g.ID))
			if ok && l.RemainingTTL > 0 && l.RemainingTTL < 60 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no checkpoint recorded: %+v", m.Name, l)
			}
			time.Sleep(20 * time.Millisecond) // checkpoints come on the leader's timer
		}
	}
	leader.Kill()
	c.WaitLeader()
	ttl, err := c.Client().TimeToLive(ctxT(t, 10*time.Second), g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ttl.TTL >= 60 {
		t.Fatalf("after a leader change the lease has %d s left: it got its whole TTL back", ttl.TTL)
	}
}
