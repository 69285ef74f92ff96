package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/goleak"

	"github.com/larchkv/larch/cluster/wal"
	"github.com/larchkv/larch/tree/mvcc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testConfig(dir string) Config {
	peer := "http://127.0.0.1:2380"
	return Config{
		Name:           "t1",
		DataDir:        dir,
		PeerURLs:       []string{peer},
		ClientURLs:     []string{"http://127.0.0.1:2379"},
		InitialCluster: []InitialMember{{Name: "t1", PeerURLs: []string{peer}}},
		TickInterval:   10 * time.Millisecond,
		ElectionTicks:  10,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.ReadyNotify():
	case err := <-s.Fatal():
		s.Stop()
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		s.Stop()
		t.Fatal("member not ready")
	}
	return s
}

// putMany proposes n puts from 32 goroutines, keys key-<start+i>.
func putMany(t *testing.T, s *Server, start, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errc := make(chan error, 32)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 32 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				res, err := s.Propose(ctx, &pb.InternalRaftRequest{Put: &pb.PutRequest{Key: fmt.Appendf(nil, "key-%d", start+i), Value: []byte("v")}})
				cancel()
				if err == nil {
					err = res.Err
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, s *Server) int64 {
	t.Helper()
	res, err := s.KV().Range(mvcc.RangeRequest{Key: []byte{0}, End: []byte{0}, CountOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	return res.Count
}

// A restart from a snapshot leaves the in-memory Raft log starting at that
// snapshot; the next snapshot must not fail compacting below it.
func TestSnapshotAfterRestartFromSnapshot(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.SnapshotCount = 500
	s := startServer(t, cfg)
	putMany(t, s, 0, 5200)
	s.Stop()
	snaps := func() []string {
		files, _ := filepath.Glob(filepath.Join(cfg.DataDir, "member", "snap", "*.snap"))
		return files
	}
	before := snaps()
	if len(before) == 0 {
		t.Fatal("no snapshot before the restart")
	}
	s = startServer(t, cfg)
	defer s.Stop()
	putMany(t, s, 5200, 4000)
	select {
	case err := <-s.Fatal():
		t.Fatalf("member failed: %v", err)
	default:
	}
	if count(t, s) != 9200 {
		t.Fatalf("count %d, want 9200", count(t, s))
	}
	if after := snaps(); after[len(after)-1] == before[len(before)-1] {
		t.Fatalf("no new snapshot after the restart: %v", after)
	}
}

// A member stopped right after bootstrapping must come back as the same
// working member.
func TestStopRightAfterBootstrap(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	id := s.ID()
	s.Stop()
	s = startServer(t, cfg)
	defer s.Stop()
	if s.ID() != id {
		t.Fatalf("member ID changed from %s to %s", id, s.ID())
	}
	putMany(t, s, 0, 10)
}

// A crash between creating the WAL and writing the bootstrap entries leaves
// an empty WAL; the member bootstraps again instead of never electing.
func TestEmptyWALBootstrapsAgain(t *testing.T) {
	cfg := testConfig(t.TempDir())
	w, err := wal.Create(filepath.Join(cfg.DataDir, "member", "wal"), []byte(`{}`), wal.Options{Logger: cfg.Logger})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	s := startServer(t, cfg)
	defer s.Stop()
	putMany(t, s, 0, 10)
	if count(t, s) != 10 {
		t.Fatal("writes lost")
	}
}

// After a restart, ReadyNotify means every write acknowledged before the
// stop is visible to local (serializable) reads.
func TestReadyAfterRestartSeesAcknowledgedWrites(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s := startServer(t, cfg)
	putMany(t, s, 0, 300)
	rev := s.KV().Rev()
	s.Stop()
	s = startServer(t, cfg)
	defer s.Stop()
	if got := s.KV().Rev(); got < rev || count(t, s) != 300 {
		t.Fatalf("after restart: revision %d (want >= %d), %d keys", got, rev, count(t, s))
	}
	if s.Term() == 0 || s.CommittedIndex() == 0 {
		t.Fatalf("term %d, commit %d after restart", s.Term(), s.CommittedIndex())
	}
}

func TestDataDirLocked(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s := startServer(t, cfg)
	if _, err := NewServer(cfg); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second member on the same data dir: %v", err)
	}
	s.Stop()
	s = startServer(t, cfg)
	s.Stop()
}
