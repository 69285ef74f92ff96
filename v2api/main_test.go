package v2api_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	client "go.etcd.io/etcd/client/v2"
	"go.uber.org/goleak"

	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/v2api"
	"github.com/larchkv/larch/v3api"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startMember starts one in-process member serving v3api with the v2
// handlers mounted, and returns its client URL.
func startMember(t *testing.T) (*cluster.Server, string) {
	t.Helper()
	return startMemberTLS(t, nil)
}

// startMemberTLS starts a member whose client port serves TLS with
// serverTLS, the v2 API taking client certificates' names as users
// (--client-cert-auth); plain HTTP when serverTLS is nil.
func startMemberTLS(t *testing.T, serverTLS *tls.Config) (*cluster.Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	if serverTLS != nil {
		u = "https://" + l.Addr().String()
		l = tls.NewListener(l, serverTLS)
	}
	peerURL := "http://127.0.0.1:2380"
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := cluster.NewServer(cluster.Config{
		Name:           "m1",
		DataDir:        t.TempDir(),
		PeerURLs:       []string{peerURL},
		ClientURLs:     []string{u},
		InitialCluster: []cluster.InitialMember{{Name: "m1", PeerURLs: []string{peerURL}}},
		TickInterval:   10 * time.Millisecond,
		ElectionTicks:  10,
		Logger:         logger,
		// The lowest cost: what these tests check is not bcrypt's.
		BcryptCost: 4,
	})
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	handlers := v2Handlers(s, logger)
	if serverTLS != nil {
		handlers = certAuthHandlers(s, logger)
	}
	api, err := v3api.New(s, v3api.Config{Logger: logger, Handlers: handlers, ClientCertAuth: serverTLS != nil})
	if err != nil {
		s.Stop()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- api.Serve(l) }()
	t.Cleanup(func() {
		api.Stop()
		<-served
		s.Stop()
	})
	select {
	case <-s.ReadyNotify():
	case <-time.After(10 * time.Second):
		t.Fatal("member not ready")
	}
	// Wait for a leader, so writes go through at once.
	for deadline := time.Now().Add(10 * time.Second); s.Leader() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s, u
}

// v2Handlers mounts the v2 handlers of s for v3api's client port, as
// cmd/larch does.
func v2Handlers(s *cluster.Server, logger *slog.Logger) map[string]http.Handler {
	return mountV2(v2api.New(s, v2api.Config{Logger: logger}))
}

// certAuthHandlers are v2Handlers with --client-cert-auth.
func certAuthHandlers(s *cluster.Server, logger *slog.Logger) map[string]http.Handler {
	return mountV2(v2api.New(s, v2api.Config{Logger: logger, ClientCertAuth: true}))
}

func mountV2(v2 *v2api.Handler) map[string]http.Handler {
	handlers := map[string]http.Handler{}
	for _, pattern := range v2.Patterns() {
		handlers[pattern] = v2
	}
	return handlers
}

func keysAPI(t *testing.T, u string) client.KeysAPI {
	t.Helper()
	c, err := client.New(client.Config{Endpoints: []string{u}, HeaderTimeoutPerRequest: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return client.NewKeysAPI(c)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// response is one raw HTTP exchange.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends method to u+p; a non-empty form goes in a urlencoded body.
func do(t *testing.T, method, u, p, form string) response {
	t.Helper()
	ctype := ""
	if form != "" {
		ctype = "application/x-www-form-urlencoded"
	}
	return send(t, method, u+p, ctype, form)
}

// send sends method to url with body and Content-Type ctype, each left
// out when empty.
func send(t *testing.T, method, url, ctype, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return roundTrip(t, req)
}

// roundTrip sends req and reads the whole answer.
func roundTrip(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func (r response) check(t *testing.T, status int, body string) {
	t.Helper()
	if r.status != status || r.body != body {
		t.Fatalf("got %d %q\nwant %d %q", r.status, r.body, status, body)
	}
}
