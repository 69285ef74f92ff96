package v3api_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/v3api"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// member is one in-process Larch member serving its client API on a free
// loopback port.
type member struct {
	t        *testing.T
	dir      string
	cfg      cluster.Config
	apiCfg   v3api.Config
	server   *cluster.Server
	api      *v3api.Server
	listener net.Listener
	served   chan error
	URL      string
	// tls, if set, makes the client port https.
	tls *tls.Config
}

func startMember(t *testing.T, tune func(*cluster.Config, *v3api.Config)) *member {
	t.Helper()
	return startMemberTLS(t, nil, tune)
}

// startMemberTLS starts a member whose client port serves TLS with
// serverTLS (plain when nil).
func startMemberTLS(t *testing.T, serverTLS *tls.Config, tune func(*cluster.Config, *v3api.Config)) *member {
	t.Helper()
	m := &member{t: t, dir: t.TempDir(), tls: serverTLS}
	peerURL := "http://127.0.0.1:2380"
	m.cfg = cluster.Config{
		Name:           "m1",
		DataDir:        m.dir,
		PeerURLs:       []string{peerURL},
		InitialCluster: []cluster.InitialMember{{Name: "m1", PeerURLs: []string{peerURL}}},
		TickInterval:   10 * time.Millisecond,
		ElectionTicks:  10,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		// The lowest cost: what these tests check is not bcrypt's.
		BcryptCost: 4,
	}
	if tune != nil {
		tune(&m.cfg, &m.apiCfg)
	}
	m.start()
	t.Cleanup(m.stop)
	return m
}

func (m *member) start() {
	m.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		m.t.Fatal(err)
	}
	m.listener = l
	m.URL = "http://" + l.Addr().String()
	if m.tls != nil {
		m.URL = "https://" + l.Addr().String()
		l = tls.NewListener(l, m.tls)
	}
	m.cfg.ClientURLs = []string{m.URL}
	m.server, err = cluster.NewServer(m.cfg)
	if err != nil {
		l.Close()
		m.t.Fatal(err)
	}
	m.apiCfg.Logger = m.cfg.Logger
	m.api, err = v3api.New(m.server, m.apiCfg)
	if err != nil {
		m.server.Stop()
		m.t.Fatal(err)
	}
	m.served = make(chan error, 1)
	go func() { m.served <- m.api.Serve(l) }()
}

func (m *member) stop() {
	if m.api == nil {
		return
	}
	m.api.Stop()
	if err := <-m.served; err != nil {
		m.t.Errorf("serve: %v", err)
	}
	m.server.Stop()
	m.api = nil
}

// restart stops the member and starts it again on the same data dir.
func (m *member) restart() {
	m.stop()
	m.start()
}

func (m *member) client(t *testing.T) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{m.listener.Addr().String()},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		// Larger than the server's limit, so the server's own error is what tests see.
		MaxCallSendMsgSize: 4 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func kvString(kv *mvccpb.KeyValue) string {
	if kv == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s=%s c%d m%d v%d", kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision, kv.Version)
}
