package clustertest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/larchkv/larch/cluster"
)

// memberIDs returns the IDs of members, sorted.
func memberIDs(members []cluster.Member) []cluster.MemberID {
	var ids []cluster.MemberID
	for _, m := range members {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids
}

// waitMembership waits until every running member sees exactly want.
func waitMembership(t *testing.T, c *Cluster, want []cluster.MemberID) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, m := range c.Running() {
		for {
			got := memberIDs(m.Server().Members())
			if slices.Equal(got, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s sees members %v, want %v", m.Name, got, want)
			}
			// Membership reaches followers with the log; nothing to wait on.
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestAddLearnerPromoteRemoveRestart(t *testing.T) {
	c := New(t, Config{Size: 3})
	ctx := ctxT(t, 60*time.Second)
	if _, err := c.Client().Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	learner, err := c.AddMember(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	var learnerInfo *cluster.Member
	for _, m := range c.WaitLeader().Server().Members() {
		if m.ID == learner.ID() {
			learnerInfo = &m
		}
	}
	if learnerInfo == nil || !learnerInfo.IsLearner {
		t.Fatalf("the added member is %+v, want a learner", learnerInfo)
	}
	waitValue(t, learner, "k", "v")
	if !learner.Server().IsLearner() {
		t.Fatal("the learner does not know it is one")
	}
	// A learner refuses writes and linearizable reads, as etcd's do.
	if _, err := learner.Client().Put(ctx, "k", "from-learner"); err == nil || err.Error() != "etcdserver: rpc not supported for learner" {
		t.Fatalf("put on a learner: %v", err)
	}

	// Promoting through a follower goes to the leader.
	leader := c.WaitLeader()
	via := c.Followers(leader)[0]
	if via == learner {
		via = c.Followers(leader)[1]
	}
	promoteWhenReady(t, ctx, via.Server(), learner.ID())
	waitVoterNotPromotable(t, ctx, via.Server(), learner.ID())
	if learner.Server().IsLearner() {
		deadline := time.Now().Add(10 * time.Second)
		for learner.Server().IsLearner() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // the promotion reaches it with the log
		}
		if learner.Server().IsLearner() {
			t.Fatal("the promoted member still thinks it is a learner")
		}
	}

	// Remove the leader itself: the others elect a new one.
	leader = c.WaitLeader()
	if _, err := leader.Server().RemoveMember(ctx, leader.ID()); err != nil {
		t.Fatalf("remove the leader: %v", err)
	}
	select {
	case err := <-leader.Server().Fatal():
		if !errors.Is(err, cluster.ErrRemoved) {
			t.Fatalf("the removed leader stopped with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the removed leader did not stop")
	}
	leader.Stop()
	newLeader := c.WaitLeader()
	if newLeader == leader {
		t.Fatal("the removed member still leads")
	}
	var want []cluster.MemberID
	for _, m := range c.Running() {
		want = append(want, m.ID())
	}
	slices.Sort(want)
	waitMembership(t, c, want)
	if _, err := newLeader.Server().RemoveMember(ctx, leader.ID()); !errors.Is(err, cluster.ErrIDRemoved) {
		t.Fatalf("removing a removed member: %v", err)
	}
	if _, err := newLeader.Client().Put(ctx, "k", "after-removal"); err != nil {
		t.Fatal(err)
	}

	// Restart everything: the membership comes back from disk.
	for _, m := range c.Running() {
		m.Stop()
	}
	for _, m := range c.Members() {
		if m != leader {
			m.Restart()
		}
	}
	c.WaitLeader()
	waitMembership(t, c, want)
	for _, m := range c.Running() {
		if m.Server().IsLearner() {
			t.Fatalf("%s is a learner again after restart", m.Name)
		}
		waitValue(t, m, "k", "after-removal")
	}
}

// promoteWhenReady promotes the learner id through s, once the leader
// finds it in sync: an acknowledgement still in flight leaves a learner
// "not ready" in a young log, and the leader refuses before it proposes.
func promoteWhenReady(t *testing.T, ctx context.Context, s *cluster.Server, id cluster.MemberID) {
	t.Helper()
	waitFor(t, "the learner to be promoted", func() bool {
		_, err := s.PromoteMember(ctx, id)
		if err != nil && !errors.Is(err, cluster.ErrLearnerNotReady) {
			t.Fatalf("promote: %v", err)
		}
		return err == nil
	})
}

// waitVoterNotPromotable checks that promoting the voter id through s is
// refused as not a learner. As in etcd, the leader checks the member's
// progress before its role, and the leader refuses before it proposes
// anything, so promotion is retried while the voter is "not ready": in a
// young log an acknowledgement still in flight is more than 10% of it.
func waitVoterNotPromotable(t *testing.T, ctx context.Context, s *cluster.Server, id cluster.MemberID) {
	t.Helper()
	waitFor(t, "promoting a voter to be refused as not a learner", func() bool {
		_, err := s.PromoteMember(ctx, id)
		if !errors.Is(err, cluster.ErrLearnerNotReady) && !errors.Is(err, cluster.ErrMemberNotLearner) {
			t.Fatalf("promoting a voter: %v, want %v", err, cluster.ErrMemberNotLearner)
		}
		return errors.Is(err, cluster.ErrMemberNotLearner)
	})
}

func TestMembershipChangeErrors(t *testing.T) {
	c := New(t, Config{Size: 3})
	ctx := ctxT(t, 60*time.Second)
	leader := c.WaitLeader()
	s := leader.Server()
	other := c.Followers(leader)[0]
	if _, _, err := s.AddMember(ctx, []string{other.PeerURL}, false); !errors.Is(err, cluster.ErrPeerURLExists) {
		t.Fatalf("adding an existing peer URL: %v", err)
	}
	if _, err := s.RemoveMember(ctx, 12345); !errors.Is(err, cluster.ErrIDNotFound) {
		t.Fatalf("removing an unknown member: %v", err)
	}
	if _, err := s.UpdateMember(ctx, 12345, []string{"http://127.0.0.1:1"}); !errors.Is(err, cluster.ErrIDNotFound) {
		t.Fatalf("updating an unknown member: %v", err)
	}
	if _, err := s.UpdateMember(ctx, other.ID(), []string{leader.PeerURL}); !errors.Is(err, cluster.ErrPeerURLExists) {
		t.Fatalf("updating to another member's URL: %v", err)
	}
	waitVoterNotPromotable(t, ctx, s, other.ID())
	if _, err := s.PromoteMember(ctx, 12345); !errors.Is(err, cluster.ErrIDNotFound) {
		t.Fatalf("promoting an unknown member: %v", err)
	}
	// A learner that never starts cannot be promoted, and a second one
	// exceeds the default --max-learners of 1.
	learner, _, err := s.AddMember(ctx, []string{"http://127.0.0.1:1"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PromoteMember(ctx, learner.ID); !errors.Is(err, cluster.ErrLearnerNotReady) {
		t.Fatalf("promoting a learner that never started: %v", err)
	}
	if _, _, err := s.AddMember(ctx, []string{"http://127.0.0.1:2"}, true); !errors.Is(err, cluster.ErrTooManyLearners) {
		t.Fatalf("a second learner: %v", err)
	}
	// An unstarted voter makes adding another one unsafe.
	if _, err := s.RemoveMember(ctx, learner.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddMember(ctx, []string{"http://127.0.0.1:3"}, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddMember(ctx, []string{"http://127.0.0.1:4"}, false); !errors.Is(err, cluster.ErrUnhealthy) {
		t.Fatalf("adding a voter while another is down: %v", err)
	}
}

func TestMoveLeader(t *testing.T) {
	c := New(t, Config{Size: 3})
	ctx := ctxT(t, 30*time.Second)
	leader := c.WaitLeader()
	target := c.Followers(leader)[0]
	if err := target.Server().MoveLeader(ctx, leader.ID()); !errors.Is(err, cluster.ErrNotLeader) {
		t.Fatalf("move-leader on a follower: %v", err)
	}
	if err := leader.Server().MoveLeader(ctx, 12345); !errors.Is(err, cluster.ErrBadLeaderTransferee) {
		t.Fatalf("move-leader to nobody: %v", err)
	}
	if err := leader.Server().MoveLeader(ctx, target.ID()); err != nil {
		t.Fatal(err)
	}
	if got := c.WaitLeader(); got != target {
		t.Fatalf("leader is %s, want %s", got.Name, target.Name)
	}
}

// waitV2Index waits until every running member's v2 index is want.
func waitV2Index(t *testing.T, c *Cluster, want uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, m := range c.Running() {
		for m.Server().V2().Index() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: v2 index %d, want %d", m.Name, m.Server().V2().Index(), want)
			}
			time.Sleep(10 * time.Millisecond) // the log reaches followers with no event to wait on
		}
	}
}

// TestV2IndexFollowsMembership checks that membership changes move the v2
// index as etcd's do, where the membership lives in the v2 store: a fresh
// three-member cluster is at 7 (three members added, three published, the
// cluster version), an addition or update adds one, a removal two.
func TestV2IndexFollowsMembership(t *testing.T) {
	c := New(t, Config{Size: 3})
	waitV2Index(t, c, 7)
	for _, m := range c.Running() {
		if v := m.Server().ClusterVersion(); v == "" {
			t.Fatalf("%s: no cluster version once every member published", m.Name)
		}
	}
	ctx := ctxT(t, 30*time.Second)
	s := c.WaitLeader().Server()
	added, _, err := s.AddMember(ctx, []string{"http://127.0.0.1:1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	waitV2Index(t, c, 8)
	if _, err := s.UpdateMember(ctx, added.ID, []string{"http://127.0.0.1:2"}); err != nil {
		t.Fatal(err)
	}
	waitV2Index(t, c, 9)
	if _, err := s.RemoveMember(ctx, added.ID); err != nil {
		t.Fatal(err)
	}
	waitV2Index(t, c, 11)
}

func TestConcurrentChangesThroughOneMemberAllLand(t *testing.T) {
	c := New(t, Config{Size: 3})
	ctx := ctxT(t, 60*time.Second)
	s := c.WaitLeader().Server()
	target := c.Followers(c.WaitLeader())[0]
	// Raft drops a change proposed while another is pending; the member
	// queues them, so none of these waits for a timeout.
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			_, err := s.UpdateMember(ctx, target.ID(), []string{target.PeerURL})
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
