package cluster

import (
	"context"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/larchkv/larch/tree/lease"
)

// TestLeaseRevocationRate: of 2000 leases that expire together, one tick
// revokes leaseRevokePerTick (etcd's 1000 a second at two ticks a second),
// oldest IDs first; the next tick skips those whose revocation is under
// way and takes the next share; leases not yet expired wait.
func TestLeaseRevocationRate(t *testing.T) {
	now := time.Unix(1000, 0)
	c := leaseClock{leading: true, deadlines: map[lease.ID]time.Time{}, revoking: map[lease.ID]bool{}}
	const n = 2000
	for id := lease.ID(n); id > 0; id-- {
		c.deadlines[id] = now.Add(-time.Second)
	}
	c.deadlines[n+1] = now.Add(time.Second)

	var ticks int
	var next lease.ID = 1
	for {
		due := c.dueLocked(now, leaseRevokePerTick)
		if len(due) == 0 {
			break
		}
		ticks++
		if len(due) > leaseRevokePerTick {
			t.Fatalf("tick %d revokes %d leases, more than %d", ticks, len(due), leaseRevokePerTick)
		}
		for _, id := range due {
			if id != next {
				t.Fatalf("tick %d revokes lease %d, want %d (oldest first, each once)", ticks, id, next)
			}
			next++
			c.revoking[id] = true
		}
	}
	if next != n+1 || ticks != n/leaseRevokePerTick {
		t.Fatalf("revoked up to %d in %d ticks, want %d in %d", next-1, ticks, n, n/leaseRevokePerTick)
	}
	if leaseRevokePerTick*int(time.Second/leaseTick) != 1000 {
		t.Fatalf("%d revocations a tick every %v is not etcd's 1000 a second", leaseRevokePerTick, leaseTick)
	}
}

// TestRenewalClearsTheCheckpoint: a keep-alive of a lease whose remaining
// time was checkpointed clears the checkpoint through Raft before it
// answers (as etcd's), so a later leader gives the lease its whole TTL; a
// keep-alive that comes while another is clearing leaves it to that one,
// so a burst proposes one clearing, not one each.
func TestRenewalClearsTheCheckpoint(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.LeaseCheckpointInterval = time.Second
	s := startServer(t, cfg)
	defer s.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Propose(ctx, &pb.InternalRaftRequest{LeaseGrant: &pb.LeaseGrantRequest{ID: 7, TTL: 60}}); err != nil {
		t.Fatal(err)
	}
	for {
		if l, _ := s.leases.Get(7); l.RemainingTTL > 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the lease was never checkpointed")
		}
		time.Sleep(10 * time.Millisecond) // a checkpoint has no event to wait on
	}
	renew := func() {
		t.Helper()
		if ttl, err := s.LeaseKeepAlive(ctx, 7); err != nil || ttl != 60 {
			t.Fatalf("keep-alive: %d, %v", ttl, err)
		}
	}

	s.leaseClock.mu.Lock()
	s.leaseClock.clearing[7] = true // as if another keep-alive were clearing it
	s.leaseClock.mu.Unlock()
	renew()
	if l, _ := s.leases.Get(7); l.RemainingTTL == 0 {
		t.Fatal("a keep-alive cleared a checkpoint that another was clearing")
	}

	s.leaseClock.mu.Lock()
	delete(s.leaseClock.clearing, 7)
	s.leaseClock.mu.Unlock()
	renew()
	if l, _ := s.leases.Get(7); l.RemainingTTL != 0 {
		t.Fatalf("the checkpoint (%d s left) outlived the keep-alive's answer", l.RemainingTTL)
	}
}
