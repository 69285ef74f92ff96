package clustertest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larchkv/larch/cluster"
)

// lockedBuffer is a log destination several goroutines write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logsOfOnePut runs one put on a single member tuned by tune and returns
// what the member logged, as JSON.
func logsOfOnePut(t *testing.T, tune func(*cluster.Config), key, value string) string {
	t.Helper()
	var logs lockedBuffer
	c := New(t, Config{Size: 1, Tune: func(cfg *cluster.Config) {
		tune(cfg)
		cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Client().Put(ctx, key, value); err != nil {
		t.Fatal(err)
	}
	return logs.String()
}

// TestSlowApplyIsLogged: a request whose apply takes longer than
// WarningApplyDuration is logged with etcd's message, its operation and
// key, and not its value.
func TestSlowApplyIsLogged(t *testing.T) {
	out := logsOfOnePut(t, func(cfg *cluster.Config) { cfg.WarningApplyDuration = time.Nanosecond }, "slow-key", "secret-value")
	if !strings.Contains(out, `"msg":"apply request took too long"`) || !strings.Contains(out, `"expected-duration":"1ns"`) ||
		!strings.Contains(out, `put key:\"slow-key\" value_size:12`) {
		t.Fatalf("logs:\n%s", out)
	}
	if strings.Contains(out, "secret-value") {
		t.Fatal("a slow apply's log holds the value")
	}
}

// TestSlowFsyncIsLogged: a WAL sync slower than WarningFsyncDuration is
// logged with etcd's message.
func TestSlowFsyncIsLogged(t *testing.T) {
	out := logsOfOnePut(t, func(cfg *cluster.Config) { cfg.WarningFsyncDuration = time.Nanosecond }, "k", "v")
	if !strings.Contains(out, `"msg":"slow fdatasync"`) || !strings.Contains(out, `"expected-duration":"1ns"`) {
		t.Fatalf("logs:\n%s", out)
	}
}
