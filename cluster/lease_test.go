package cluster

import (
	"testing"
	"time"

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
