// Package clustertest starts clusters of in-process Larch members on
// loopback, each with its own free ports and temporary data dir, for
// tests: members can be stopped, killed, restarted, added and removed, and
// the network between them partitioned and healed.
//
// A partition drops Raft messages at the sender (cluster.Config's
// DropPeerMessage), so it can be one way or both ways and takes effect at
// once, including on streams already open.
package clustertest

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/pki"
	"github.com/larchkv/larch/v3api"
)

// Config tunes a cluster; zero fields take the defaults.
type Config struct {
	// Size is the number of members started by New.
	Size int
	// Token is the initial cluster token.
	Token string
	// Tune, if set, adjusts every member's configuration before it starts.
	Tune func(*cluster.Config)
	// TuneAPI, if set, adjusts every member's client API configuration.
	TuneAPI func(*v3api.Config)
	// Prepare, if set, is called with each member's complete configuration
	// before New first starts it, to fill its data dir (snapshot restore).
	Prepare func(*cluster.Config) error
	// Handlers, if set, returns more HTTP handlers, by mux pattern, for a
	// member's client URL next to the v3 API (v3api.Config.Handlers): the
	// v2 API's, for one. It is called each time the member starts.
	Handlers func(*cluster.Server) map[string]http.Handler
	// PeerTLS, if set, returns a member's peer TLS (by member name): its
	// peer URL is https, its listener serves that TLS and it dials its
	// peers with it.
	PeerTLS func(name string) pki.TLSInfo
}

// Cluster is a set of in-process members.
type Cluster struct {
	t     testing.TB
	token string
	tune  func(*cluster.Config)
	// tuneAPI is Config.TuneAPI.
	tuneAPI func(*v3api.Config)
	// handlers is Config.Handlers.
	handlers func(*cluster.Server) map[string]http.Handler
	peerTLS  func(name string) pki.TLSInfo

	mu      sync.Mutex
	members []*Member
	// drops holds the directed links (from, to) that lose every message.
	drops map[[2]cluster.MemberID]bool
}

// Member is one member of a Cluster.
type Member struct {
	c         *Cluster
	Name      string
	DataDir   string
	PeerURL   string
	ClientURL string
	cfg       cluster.Config

	mu     sync.Mutex // guards the fields below
	id     cluster.MemberID
	server *cluster.Server
	api    *v3api.Server
	served chan error
}

// New starts a cluster of cfg.Size members and waits until it has a leader.
func New(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	if cfg.Size == 0 {
		cfg.Size = 3
	}
	if cfg.Token == "" {
		cfg.Token = "clustertest"
	}
	c := &Cluster{t: t, token: cfg.Token, tune: cfg.Tune, tuneAPI: cfg.TuneAPI, handlers: cfg.Handlers, peerTLS: cfg.PeerTLS, drops: map[[2]cluster.MemberID]bool{}}
	var initial []cluster.InitialMember
	for i := range cfg.Size {
		m := c.newMember(fmt.Sprintf("m%d", i+1))
		initial = append(initial, cluster.InitialMember{Name: m.Name, PeerURLs: []string{m.PeerURL}})
	}
	t.Cleanup(c.Terminate)
	var wg sync.WaitGroup
	errs := make([]error, len(c.members))
	for i, m := range c.members {
		m.cfg.InitialCluster = initial
		if cfg.Prepare != nil {
			if err := cfg.Prepare(&m.cfg); err != nil {
				t.Fatal(err)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = m.start()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c.WaitLeader()
	c.WaitConnected()
	return c
}

// WaitConnected waits until every running member has been connected to
// every other for its health interval: from then on the checks of
// membership changes count them all as up.
func (c *Cluster) WaitConnected() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, m := range c.Running() {
		s := m.Server()
		for _, o := range c.Running() {
			if o == m {
				continue
			}
			for {
				at := s.PeerActiveSince(o.ID())
				if !at.IsZero() && time.Since(at) >= s.HealthInterval() {
					break
				}
				if time.Now().After(deadline) {
					c.t.Fatalf("clustertest: %s not connected to %s after 30s", m.Name, o.Name)
				}
				// Connection age has no event to wait on.
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
}

func (c *Cluster) newMember(name string) *Member {
	dir, err := os.MkdirTemp(c.t.TempDir(), name)
	if err != nil {
		c.t.Fatal(err)
	}
	m := &Member{
		c:         c,
		Name:      name,
		DataDir:   dir,
		PeerURL:   c.peerScheme() + FreeAddr(c.t),
		ClientURL: "http://" + FreeAddr(c.t),
	}
	m.cfg = cluster.Config{
		Name:                name,
		DataDir:             dir,
		PeerURLs:            []string{m.PeerURL},
		ClientURLs:          []string{m.ClientURL},
		InitialClusterToken: c.token,
		TickInterval:        10 * time.Millisecond,
		ElectionTicks:       10,
		HealthInterval:      50 * time.Millisecond,
		Logger:              testLogger(),
	}
	m.cfg.DropPeerMessage = func(to cluster.MemberID) bool { return c.dropped(m, to) }
	if c.tune != nil {
		c.tune(&m.cfg)
	}
	c.mu.Lock()
	c.members = append(c.members, m)
	c.mu.Unlock()
	return m
}

func (c *Cluster) peerScheme() string {
	if c.peerTLS != nil {
		return "https://"
	}
	return "http://"
}

// testLogger discards logs unless LARCH_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("LARCH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Members returns the members, in the order they were made.
func (c *Cluster) Members() []*Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Member(nil), c.members...)
}

// Running returns the members that are running.
func (c *Cluster) Running() []*Member {
	var out []*Member
	for _, m := range c.Members() {
		if m.Server() != nil {
			out = append(out, m)
		}
	}
	return out
}

// start listens on the member's ports and starts it; it returns once the
// member serves clients or failed to start.
func (m *Member) start() error {
	cfg := m.cfg
	peerL, err := net.Listen("tcp", strings.TrimPrefix(strings.TrimPrefix(m.PeerURL, "http://"), "https://"))
	if err != nil {
		return fmt.Errorf("%s: listen for peers: %w", m.Name, err)
	}
	if m.c.peerTLS != nil {
		info := m.c.peerTLS(m.Name)
		srvCfg, err := info.ServerConfig()
		if err != nil {
			peerL.Close()
			return err
		}
		peerL = tls.NewListener(peerL, srvCfg)
		if cfg.PeerDialTLS, err = info.Dialer(&net.Dialer{Timeout: time.Second}); err != nil {
			peerL.Close()
			return err
		}
	}
	clientL, err := net.Listen("tcp", m.ClientURL[len("http://"):])
	if err != nil {
		peerL.Close()
		return fmt.Errorf("%s: listen for clients: %w", m.Name, err)
	}
	cfg.PeerListeners = []net.Listener{peerL}
	srv, err := cluster.NewServer(cfg)
	if err != nil {
		clientL.Close()
		return fmt.Errorf("%s: %w", m.Name, err)
	}
	var handlers map[string]http.Handler
	if m.c.handlers != nil {
		handlers = m.c.handlers(srv)
	}
	apiCfg := v3api.Config{Logger: cfg.Logger, Handlers: handlers}
	if m.c.tuneAPI != nil {
		m.c.tuneAPI(&apiCfg)
	}
	api, err := v3api.New(srv, apiCfg)
	if err != nil {
		clientL.Close()
		srv.Stop()
		return fmt.Errorf("%s: %w", m.Name, err)
	}
	served := make(chan error, 1)
	go func() { served <- api.Serve(clientL) }()
	m.mu.Lock()
	m.server, m.api, m.served, m.id = srv, api, served, srv.ID()
	m.mu.Unlock()
	return nil
}

// Server returns the member's cluster.Server, nil while it is stopped.
func (m *Member) Server() *cluster.Server {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.server
}

// ID returns the member's ID; the member must have run once.
func (m *Member) ID() cluster.MemberID {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.id
}

// Stop stops the member. Everything it acknowledged is durable, so for
// the cluster a stop is a crash: in-flight requests fail, nothing is
// handed over.
func (m *Member) Stop() {
	m.mu.Lock()
	srv, api, served := m.server, m.api, m.served
	m.server, m.api = nil, nil
	m.mu.Unlock()
	if srv == nil {
		return
	}
	api.Stop()
	<-served
	srv.Stop()
}

// Kill is Stop: an in-process member has nothing more abrupt to lose, as
// every acknowledged write is on disk before it is acknowledged.
func (m *Member) Kill() { m.Stop() }

// Restart starts a stopped member again on its data dir.
func (m *Member) Restart() {
	m.c.t.Helper()
	if err := m.start(); err != nil {
		m.c.t.Fatal(err)
	}
}

// WaitReady waits until the member has applied its own publication: after
// a start, it has applied the log it had on disk, which a restarted
// member replays after NewServer returns.
func (m *Member) WaitReady() {
	m.c.t.Helper()
	srv := m.Server()
	if srv == nil {
		m.c.t.Fatalf("%s is stopped", m.Name)
	}
	select {
	case <-srv.ReadyNotify():
	case err := <-srv.Fatal():
		m.c.t.Fatalf("%s failed: %v", m.Name, err)
	case <-time.After(30 * time.Second):
		m.c.t.Fatalf("%s is not ready after 30s", m.Name)
	}
}

// Client returns an etcd client of this member alone.
func (m *Member) Client() *clientv3.Client {
	m.c.t.Helper()
	return m.c.client([]string{m.ClientURL})
}

// Client returns an etcd client of every member.
func (c *Cluster) Client() *clientv3.Client {
	c.t.Helper()
	var eps []string
	for _, m := range c.Members() {
		eps = append(eps, m.ClientURL)
	}
	return c.client(eps)
}

func (c *Cluster) client(eps []string) *clientv3.Client {
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cli.Close() })
	return cli
}

// WaitLeader waits until the running members agree on a running leader and
// returns it.
func (c *Cluster) WaitLeader() *Member {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := c.agreedLeader(); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			c.t.Fatal("clustertest: no leader after 30s")
		}
		// Leadership has no notification to wait on across members.
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *Cluster) agreedLeader() *Member {
	var lead cluster.MemberID
	for _, m := range c.Running() {
		s := m.Server()
		if s == nil || s.IsLearner() {
			continue
		}
		l := s.Leader()
		if l == 0 || (lead != 0 && l != lead) {
			return nil
		}
		lead = l
	}
	for _, m := range c.Running() {
		if m.ID() == lead {
			return m
		}
	}
	return nil
}

// Followers returns the running members other than the leader.
func (c *Cluster) Followers(leader *Member) []*Member {
	var out []*Member
	for _, m := range c.Running() {
		if m != leader {
			out = append(out, m)
		}
	}
	return out
}

func (c *Cluster) dropped(from *Member, to cluster.MemberID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.drops[[2]cluster.MemberID{from.ID(), to}]
}

// Partition cuts every link between the members of a and those of b,
// both ways.
func (c *Cluster) Partition(a, b []*Member) {
	for _, x := range a {
		for _, y := range b {
			c.DropOneWay(x, y)
			c.DropOneWay(y, x)
		}
	}
}

// Isolate cuts m off from every other member.
func (c *Cluster) Isolate(m *Member) {
	var others []*Member
	for _, o := range c.Members() {
		if o != m {
			others = append(others, o)
		}
	}
	c.Partition([]*Member{m}, others)
}

// DropOneWay loses every message from one member to another.
func (c *Cluster) DropOneWay(from, to *Member) {
	fid, tid := from.ID(), to.ID()
	c.mu.Lock()
	c.drops[[2]cluster.MemberID{fid, tid}] = true
	c.mu.Unlock()
}

// Heal restores every link.
func (c *Cluster) Heal() {
	c.mu.Lock()
	c.drops = map[[2]cluster.MemberID]bool{}
	c.mu.Unlock()
}

// AddMember adds a new member through the running cluster (as a learner
// if learner) and starts it, joining with --initial-cluster-state existing.
func (c *Cluster) AddMember(ctx context.Context, learner bool) (*Member, error) {
	c.t.Helper()
	m := c.newMember(fmt.Sprintf("m%d", len(c.Members())+1))
	var via *cluster.Server
	for _, r := range c.Running() {
		if r != m {
			via = r.Server()
			break
		}
	}
	if via == nil {
		return nil, fmt.Errorf("clustertest: no running member to add through")
	}
	added, members, err := via.AddMember(ctx, []string{m.PeerURL}, learner)
	if err != nil {
		c.forget(m)
		return nil, err
	}
	var initial []cluster.InitialMember
	for _, mm := range members {
		name := mm.Name
		if mm.ID == added.ID {
			name = m.Name
		}
		initial = append(initial, cluster.InitialMember{Name: name, PeerURLs: mm.PeerURLs})
	}
	m.cfg.InitialCluster = initial
	m.cfg.InitialClusterState = "existing"
	if err := m.start(); err != nil {
		return nil, err
	}
	return m, nil
}

// JoinByKey starts a new member that asks the running members, on their
// peer ports, to add it as a learner, signing with key (what a member
// that discovery found a running cluster for does).
func (c *Cluster) JoinByKey(ctx context.Context, key []byte) (*Member, error) {
	c.t.Helper()
	m := c.newMember(fmt.Sprintf("m%d", len(c.Members())+1))
	var through []string
	for _, r := range c.Running() {
		if r != m {
			through = append(through, r.PeerURL)
		}
	}
	m.cfg.JoinKey = key
	if err := cluster.JoinAsLearner(ctx, &m.cfg, through, key); err != nil {
		c.forget(m)
		return nil, err
	}
	if err := m.start(); err != nil {
		return nil, err
	}
	return m, nil
}

func (c *Cluster) forget(m *Member) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, o := range c.members {
		if o == m {
			c.members = append(c.members[:i], c.members[i+1:]...)
			return
		}
	}
}

// Terminate stops every member.
func (c *Cluster) Terminate() {
	var wg sync.WaitGroup
	for _, m := range c.Members() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Stop()
		}()
	}
	wg.Wait()
}
