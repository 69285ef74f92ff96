package cluster

import (
	"context"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/larchkv/larch/tree"
)

func proposeV2(t *testing.T, s *Server, r *pb.Request) (*tree.Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.ProposeV2(ctx, r)
}

func TestV2WritesReplicateAndSurviveRestart(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.SnapshotCount = 20
	s := startServer(t, cfg)
	yes := true
	for _, r := range []*pb.Request{
		{Method: "PUT", Path: "/a", Val: "1"},
		{Method: "PUT", Path: "/a", Val: "2", PrevValue: "1"},
		{Method: "PUT", Path: "/dir", Dir: true},
		{Method: "POST", Path: "/queue", Val: "job"},
		{Method: "PUT", Path: "/a", Val: "3", PrevExist: &yes},
	} {
		if _, err := proposeV2(t, s, r); err != nil {
			t.Fatalf("%v: %v", r, err)
		}
	}
	if _, err := proposeV2(t, s, &pb.Request{Method: "PUT", Path: "/a", Val: "x", PrevValue: "nope"}); !tree.IsCode(err, tree.EcodeTestFailed) {
		t.Fatalf("CAS with a wrong prevValue: %v", err)
	}
	// Enough writes for a snapshot, so the restart goes through one.
	for range 30 {
		if _, err := proposeV2(t, s, &pb.Request{Method: "PUT", Path: "/n", Val: "v"}); err != nil {
			t.Fatal(err)
		}
	}
	index := s.V2().Index()
	s.Stop()
	s = startServer(t, cfg)
	defer s.Stop()
	// The member published itself again on restart, which moves the index
	// by one, as etcd's publish does.
	if got := s.V2().Index(); got != index+1 {
		t.Fatalf("v2 index %d after restart, want %d", got, index+1)
	}
	ev, err := s.V2().Get("/a", false, false, time.Now())
	if err != nil || *ev.Node.Value != "3" {
		t.Fatalf("/a after restart: %+v, %v", ev, err)
	}
}

func TestV2TTLExpiresThroughSync(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	defer s.Stop()
	w, err := s.V2().Watch("/ttl", false, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Remove()
	if _, err := proposeV2(t, s, &pb.Request{Method: "PUT", Path: "/ttl", Val: "v", Expiration: time.Now().Add(time.Second).UnixNano()}); err != nil {
		t.Fatal(err)
	}
	// The set, then the expiry the leader's time tick causes.
	for _, want := range []string{"set", "expire"} {
		select {
		case ev := <-w.EventChan():
			if ev.Action != want {
				t.Fatalf("event %q, want %q", ev.Action, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %q event", want)
		}
		if want == "set" {
			w.Remove()
			if w, err = s.V2().Watch("/ttl", false, false, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.V2().Get("/ttl", false, false, time.Now()); !tree.IsCode(err, tree.EcodeKeyNotFound) {
		t.Fatalf("expired key still there: %v", err)
	}
}
