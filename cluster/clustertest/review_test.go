package clustertest

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/larchkv/larch/cluster"
)

// waitApplied waits until m has applied at least index.
func waitApplied(t *testing.T, m *Member, index uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for m.Server().AppliedIndex() < index {
		if time.Now().After(deadline) {
			t.Fatalf("%s applied %d, want %d", m.Name, m.Server().AppliedIndex(), index)
		}
		time.Sleep(10 * time.Millisecond) // the log reaches a member with no event to wait on
	}
}

// TestMemberAddedAfterCompactionCatchesUp: the leader's stored snapshot
// predates the new member, whose Raft would ignore it; the leader makes a
// new one instead of sending it again and again.
func TestMemberAddedAfterCompactionCatchesUp(t *testing.T) {
	c := New(t, Config{Size: 3, Tune: func(cfg *cluster.Config) { cfg.SnapshotCount, cfg.SnapshotCatchUpEntries = 50, 10 }})
	leader := c.WaitLeader()
	cli := leader.Client()
	for i := range 300 {
		if _, err := cli.Put(ctxT(t, 10*time.Second), fmt.Sprint("k", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	for _, learner := range []bool{true, false} {
		m, err := c.AddMember(ctxT(t, 20*time.Second), learner)
		if err != nil {
			t.Fatal(err)
		}
		waitApplied(t, m, leader.Server().AppliedIndex())
		waitValue(t, m, "k299", "v")
		if learner {
			// Promoted, it leaves room for the next (one learner at most).
			promoteWhenReady(t, ctxT(t, 20*time.Second), leader.Server(), m.ID())
		}
		c.WaitConnected()
	}
}

// TestWipedMemberIsRefused: a member whose data dir was lost must not come
// back under its old ID with an empty log (it could vote against
// acknowledged writes); like etcd, Larch refuses to bootstrap it.
func TestWipedMemberIsRefused(t *testing.T) {
	c := New(t, Config{Size: 3})
	leader := c.WaitLeader()
	if _, err := leader.Client().Put(ctxT(t, 10*time.Second), "k", "v"); err != nil {
		t.Fatal(err)
	}
	f := c.Followers(leader)[0]
	waitValue(t, f, "k", "v")
	f.Stop()
	if err := os.RemoveAll(f.DataDir); err != nil {
		t.Fatal(err)
	}
	err := f.start()
	if err == nil {
		f.Stop()
		t.Fatal("a member with a wiped data dir bootstrapped again")
	}
	if !strings.Contains(err.Error(), "has already been bootstrapped") {
		t.Fatalf("error %v, want etcd's 'has already been bootstrapped'", err)
	}
}

// TestRemovingTheLastVoterIsRefused: Raft cannot run without a voter, so
// the change is refused where it is applied, even without the checks made
// before proposing.
func TestRemovingTheLastVoterIsRefused(t *testing.T) {
	c := New(t, Config{Size: 1, Tune: func(cfg *cluster.Config) { cfg.SkipReconfigChecks = true }})
	m := c.WaitLeader()
	if _, err := m.Server().RemoveMember(ctxT(t, 10*time.Second), m.ID()); !errors.Is(err, cluster.ErrNotEnoughStartedMembers) {
		t.Fatalf("removing the only voter: %v", err)
	}
	if _, err := m.Client().Put(ctxT(t, 10*time.Second), "still", "up"); err != nil {
		t.Fatal(err)
	}
	// And after a restart, which replays the refused entry.
	m.Stop()
	m.Restart()
	c.WaitLeader()
	waitValue(t, m, "still", "up")
}
