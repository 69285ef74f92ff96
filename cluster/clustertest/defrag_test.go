package clustertest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/larchkv/larch/cluster"
)

// TestStopWaitsForDefragment: a member stopped while a Defragment writes
// its snapshot waits for the write before it closes its WAL, so the
// defragment ends cleanly and the member does not report a failure.
func TestStopWaitsForDefragment(t *testing.T) {
	var logs lockedBuffer
	c := New(t, Config{Size: 1, Tune: func(cfg *cluster.Config) {
		cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	}})
	m := c.Members()[0]
	ctx := context.Background()
	value := strings.Repeat("x", 2048)
	for i := range 80 {
		var ops []clientv3.Op
		for j := range 128 {
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("k%03d-%03d", i, j), value))
		}
		if _, err := m.Client().Txn(ctx).Then(ops...).Commit(); err != nil {
			t.Fatal(err)
		}
	}
	srv := m.Server()
	done := make(chan error, 1)
	go func() {
		_, err := srv.Defragment(ctx)
		done <- err
	}()
	m.Stop()
	if err := <-done; err != nil && !errors.Is(err, cluster.ErrStopped) {
		t.Fatalf("Defragment during Stop: %v", err)
	}
	if out := logs.String(); strings.Contains(out, "member cannot continue") {
		t.Fatalf("a stop during a defragment failed the member:\n%s", out)
	}
}
