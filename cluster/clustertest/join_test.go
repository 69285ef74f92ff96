package clustertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/larchkv/larch/cluster"
)

var joinKey = []byte("0123456789abcdef0123456789abcdef")

func withJoinKey(cfg *cluster.Config) { cfg.JoinKey = joinKey }

// TestJoinNeedsTheKey: a member may be added through the peer port only
// with a request signed by the key the cluster's members hold; a cluster
// started without one refuses every such request.
func TestJoinNeedsTheKey(t *testing.T) {
	c := New(t, Config{Size: 1, Tune: withJoinKey})
	for _, tc := range []struct {
		name string
		key  []byte
		want string
	}{
		{"wrong key", []byte("another key, from another token!"), "not signed with this cluster's discovery token"},
		{"no key", nil, "not signed with this cluster's discovery token"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, err := c.JoinByKey(ctx, tc.key)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	if n := len(c.Members()[0].Server().Members()); n != 1 {
		t.Fatalf("refused joins added members: %d", n)
	}

	plain := New(t, Config{Size: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := plain.JoinByKey(ctx, joinKey); err == nil || !strings.Contains(err.Error(), "not started with a discovery token") {
		t.Fatalf("a cluster without a join key: %v", err)
	}
}

// TestJoinAsLearnerThenPromote: a member joining by key starts as a
// learner and promotes itself once caught up, unless the cluster has
// enough voters.
func TestJoinAsLearnerThenPromote(t *testing.T) {
	c := New(t, Config{Size: 3, Tune: withJoinKey})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Client().Put(ctx, "before", "join"); err != nil {
		t.Fatal(err)
	}
	m, err := c.JoinByKey(ctx, joinKey)
	if err != nil {
		t.Fatal(err)
	}
	waitSelfApplied(t, m)
	if !m.Server().IsLearner() {
		t.Fatal("a member that joined by key is not a learner")
	}
	// Three voters already: with at most three it stays a learner.
	stopped, stop := context.WithCancel(ctx)
	stop()
	if err := m.Server().PromoteSelf(stopped, 3); err == nil || !m.Server().IsLearner() {
		t.Fatalf("promoted beyond --discovery-max-voters: %v, learner %v", err, m.Server().IsLearner())
	}
	if err := m.Server().PromoteSelf(ctx, 5); err != nil {
		t.Fatal(err)
	}
	for _, mm := range c.WaitLeader().Server().Members() {
		if mm.IsLearner {
			t.Fatalf("still a learner after PromoteSelf: %+v", mm)
		}
	}
	if m.Server().IsLearner() {
		t.Fatal("the member does not know it votes")
	}
}

// TestReplaceDeadMemberByKey: a dead member removed, a new one joining by
// key takes its place as a voter, and the cluster serves writes.
func TestReplaceDeadMemberByKey(t *testing.T) {
	c := New(t, Config{Size: 3, Tune: withJoinKey})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dead := c.Members()[2]
	dead.Kill()
	leader := c.WaitLeader()
	if _, err := leader.Server().RemoveMember(ctx, dead.ID()); err != nil {
		t.Fatal(err)
	}
	c.forget(dead)
	m, err := c.JoinByKey(ctx, joinKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Server().PromoteSelf(ctx, 5); err != nil {
		t.Fatal(err)
	}
	var want []cluster.MemberID
	for _, r := range c.Running() {
		want = append(want, r.ID())
	}
	waitMembership(t, c, memberIDsOf(want))
	if _, err := c.Client().Put(ctx, "after", "replace"); err != nil {
		t.Fatal(err)
	}
}

func memberIDsOf(ids []cluster.MemberID) []cluster.MemberID {
	var ms []cluster.Member
	for _, id := range ids {
		ms = append(ms, cluster.Member{ID: id})
	}
	return memberIDs(ms)
}

// waitSelfApplied waits until m has applied the entry that added it.
func waitSelfApplied(t *testing.T, m *Member) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, mm := range m.Server().Members() {
			if mm.ID == m.ID() {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never applied its own addition", m.Name)
		}
		// The membership reaches the member with the log; nothing to wait on.
		time.Sleep(10 * time.Millisecond)
	}
}
