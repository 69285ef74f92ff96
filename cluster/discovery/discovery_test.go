package discovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fastGossip shortens memberlist's intervals to loopback speeds.
func fastGossip(c *memberlist.Config) {
	local := memberlist.DefaultLocalConfig()
	c.GossipInterval, c.ProbeInterval, c.ProbeTimeout = 20*time.Millisecond, 200*time.Millisecond, 100*time.Millisecond
	c.PushPullInterval, c.TCPTimeout = local.PushPullInterval, local.TCPTimeout
}

func testLogger() *slog.Logger {
	if os.Getenv("LARCH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// freeAddr reserves a loopback port free for both TCP and UDP, so a seed's
// address can be handed out before the seed starts. The ports come from
// [32000, 32768): below the kernel's range for outgoing connections (which
// could take a handed-out port before its pool binds it) and above the
// one the cluster tests running beside this binary reserve from.
func freeAddr(t *testing.T) string {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for port := 32000 + rand.IntN(768); len(portsUsed) < 768; port = 32000 + (port-32000+1)%768 {
		if portsUsed[port] {
			continue
		}
		portsUsed[port] = true
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			u.Close()
			return addr
		}
	}
	t.Fatal("no port free for TCP and UDP")
	return ""
}

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

func config(name, token string, size int, bind string, seeds ...string) Config {
	return Config{
		Token: token, Size: size, BindAddr: bind, Join: seeds, Timeout: 20 * time.Second,
		Name: name, PeerURLs: []string{"http://" + name + ".test:2380"}, ClientURLs: []string{"http://" + name + ".test:2379"},
		Logger: testLogger(), Settle: 150 * time.Millisecond, Gossip: fastGossip,
	}
}

type outcome struct {
	name string
	res  Result
	err  error
}

// bootstrapAll runs Bootstrap on each pool, concurrently.
func bootstrapAll(pools []*Pool) <-chan outcome {
	out := make(chan outcome, len(pools))
	for _, p := range pools {
		go func() {
			res, err := p.Bootstrap(context.Background())
			out <- outcome{p.cfg.Name, res, err}
		}()
	}
	return out
}

func startPool(t *testing.T, cfg Config) *Pool {
	t.Helper()
	p, err := Start(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// waitView waits until p sees n members.
func waitView(t *testing.T, p *Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(p.Members()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%s sees %d members, want %d", p.cfg.Name, len(p.Members()), n)
		}
		select {
		case <-p.changed:
			p.wake() // leave the wake-up for Bootstrap too
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func checkAgreement(t *testing.T, outcomes []outcome, size int) {
	t.Helper()
	var first Result
	for i, o := range outcomes {
		if o.err != nil {
			t.Fatalf("%s: %v", o.name, o.err)
		}
		if len(o.res.InitialCluster) != size || o.res.ClusterToken == "" {
			t.Fatalf("%s: %+v", o.name, o.res)
		}
		if i == 0 {
			first = o.res
			continue
		}
		if o.res.ClusterToken != first.ClusterToken || setHash(o.res.InitialCluster) != setHash(first.InitialCluster) ||
			!slices.EqualFunc(o.res.InitialCluster, first.InitialCluster, func(a, b Meta) bool { return a.Name == b.Name && slices.Equal(a.PeerURLs, b.PeerURLs) }) {
			t.Fatalf("%s disagrees: %+v vs %+v", o.name, o.res, first)
		}
	}
}

// TestBootstrapStaggered: 3 and 5 members started at different moments,
// each with seeds in its own order, the first one's seed starting last,
// agree on one initial cluster and cluster token.
func TestBootstrapStaggered(t *testing.T) {
	for _, size := range []int{3, 5} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			addrs := make([]string, size)
			for i := range addrs {
				addrs[i] = freeAddr(t)
			}
			var pools []*Pool
			var outcomes []outcome
			results := make(chan outcome, size)
			for i := range size {
				// Member i's seeds: the last member (not started yet for
				// all but the last), then the previous one; the first
				// knows only the last.
				seeds := []string{addrs[size-1]}
				if i > 0 {
					seeds = append(seeds, addrs[i-1])
				}
				if i%2 == 1 {
					slices.Reverse(seeds)
				}
				p := startPool(t, config(fmt.Sprintf("m%d", i), "tok", size, addrs[i], seeds...))
				pools = append(pools, p)
				go func() {
					res, err := p.Bootstrap(context.Background())
					results <- outcome{p.cfg.Name, res, err}
				}()
				if i > 0 {
					// The next starts once this one is in the pool.
					waitView(t, pools[0], i+1)
				}
			}
			for range size {
				outcomes = append(outcomes, <-results)
			}
			checkAgreement(t, outcomes, size)
			if got := names(outcomes[0].res.InitialCluster); got != strings.Join(sortedNames(size), ", ") {
				t.Fatalf("initial cluster %s", got)
			}
		})
	}
}

func sortedNames(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("m%d", i))
	}
	slices.Sort(out)
	return out
}

// TestWrongTokenIsNotAdmitted: a member with another token cannot join
// the pool, and the pool never sees it.
func TestWrongTokenIsNotAdmitted(t *testing.T) {
	seed := startPool(t, config("a", "right", 2, "127.0.0.1:0"))
	cfg := config("intruder", "wrong", 2, "127.0.0.1:0", seed.Addr())
	cfg.Timeout = time.Second
	intruder := startPool(t, cfg)
	_, err := intruder.Bootstrap(context.Background())
	if !errors.Is(err, ErrTokenMismatch) || !strings.Contains(err.Error(), "another --discovery-token") {
		t.Fatalf("intruder: %v", err)
	}
	for _, m := range seed.Members() {
		if m.Name == "intruder" {
			t.Fatal("the pool admitted a member with another token")
		}
	}
	if got := len(intruder.Members()); got != 1 {
		t.Fatalf("the intruder sees %d nodes", got)
	}
}

// TestGossipIsEncrypted: what a member sends to a seed carries neither its
// name nor its URLs in the clear.
func TestGossipIsEncrypted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(io.LimitReader(c, 1<<16))
		got <- b
	}()
	startPool(t, config("secretive", "tok", 2, "127.0.0.1:0", l.Addr().String()))
	b := <-got
	if len(b) == 0 {
		t.Fatal("nothing was sent to the seed")
	}
	for _, s := range []string{"secretive", "secretive.test", "2380", "phase"} {
		if bytes.Contains(b, []byte(s)) {
			t.Fatalf("the push/pull to a seed carries %q in the clear", s)
		}
	}
}

// TestSeedsNotRunning: a member whose seeds never answer says so.
func TestSeedsNotRunning(t *testing.T) {
	cfg := config("alone", "tok", 2, "127.0.0.1:0", freeAddr(t))
	cfg.Timeout = 700 * time.Millisecond
	_, err := startPool(t, cfg).Bootstrap(context.Background())
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "no seed of") {
		t.Fatalf("seeds down: %v", err)
	}
}

// TestBootstrapTimeoutSaysWhoIsMissing: two of three members time out
// naming whom they saw and how many are missing.
func TestBootstrapTimeoutSaysWhoIsMissing(t *testing.T) {
	a := startPool(t, config("a", "tok", 3, "127.0.0.1:0"))
	startPool(t, config("b", "tok", 3, "127.0.0.1:0", a.Addr()))
	waitView(t, a, 2)
	a.cfg.Timeout = 300 * time.Millisecond
	_, err := a.Bootstrap(context.Background())
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "saw 2 of 3 members (a, b), 1 missing") {
		t.Fatalf("timeout: %v", err)
	}
}

// TestDuplicateNamesAreRefused: two bootstrapping members with one name
// both fail, saying so.
func TestDuplicateNamesAreRefused(t *testing.T) {
	a := startPool(t, config("a", "tok", 2, "127.0.0.1:0"))
	dup := config("a", "tok", 2, "127.0.0.1:0", a.Addr())
	dup.PeerURLs = []string{"http://elsewhere.test:2380"}
	a2 := startPool(t, dup)
	waitView(t, a, 2)
	out := bootstrapAll([]*Pool{a, a2})
	for range 2 {
		o := <-out
		if !errors.Is(o.err, ErrDuplicateName) {
			t.Fatalf("%s: %v", o.name, o.err)
		}
	}
}

// TestClusterIsFull: four members with size 3: the three smallest names
// form the cluster, the fourth is refused.
func TestClusterIsFull(t *testing.T) {
	first := startPool(t, config("m0", "tok", 3, "127.0.0.1:0"))
	pools := []*Pool{first}
	for _, name := range []string{"m1", "m2", "m3"} {
		pools = append(pools, startPool(t, config(name, "tok", 3, "127.0.0.1:0", first.Addr())))
	}
	waitView(t, first, 4)
	out := bootstrapAll(pools)
	var formed []outcome
	for range 4 {
		o := <-out
		if o.name == "m3" {
			if !errors.Is(o.err, ErrClusterFull) || !strings.Contains(o.err.Error(), "reached by m0, m1, m2") {
				t.Fatalf("m3: %v", o.err)
			}
			continue
		}
		formed = append(formed, o)
	}
	checkAgreement(t, formed, 3)
}

// TestClusterIsFullJoinAsLearner: with JoinWhenFull the member left out
// waits for the others to start and then joins them.
func TestClusterIsFullJoinAsLearner(t *testing.T) {
	first := startPool(t, config("m0", "tok", 2, "127.0.0.1:0"))
	second := startPool(t, config("m1", "tok", 2, "127.0.0.1:0", first.Addr()))
	cfg := config("m2", "tok", 2, "127.0.0.1:0", first.Addr())
	cfg.JoinWhenFull = true
	third := startPool(t, cfg)
	waitView(t, first, 3)
	out := bootstrapAll([]*Pool{first, second})
	for range 2 {
		if o := <-out; o.err != nil || len(o.res.InitialCluster) != 2 {
			t.Fatalf("%s: %+v %v", o.name, o.res, o.err)
		}
	}
	first.MarkStarted()
	second.MarkStarted()
	res, err := third.Bootstrap(context.Background())
	if err != nil || len(res.Running) != 2 {
		t.Fatalf("m2: %+v %v", res, err)
	}
}

// TestSeedRestartDoesNotSplitThePool: a member that joined through a seed
// meets, after the seed restarts, the members that join through its new
// process.
func TestSeedRestartDoesNotSplitThePool(t *testing.T) {
	seedAddr := freeAddr(t)
	seed, err := Start(config("s", "tok", 3, seedAddr), false)
	if err != nil {
		t.Fatal(err)
	}
	a := startPool(t, config("a", "tok", 3, "127.0.0.1:0", seedAddr))
	waitView(t, a, 2)
	seed.Close()
	seed = startPool(t, config("s", "tok", 3, seedAddr))
	b := startPool(t, config("b", "tok", 3, "127.0.0.1:0", seedAddr))
	out := bootstrapAll([]*Pool{a, seed, b})
	var all []outcome
	for range 3 {
		all = append(all, <-out)
	}
	checkAgreement(t, all, 3)
}

// TestRestartedMemberIsNotItsOwnDuplicate: a member that stops and starts
// again at once, its earlier process still alive in the others' view, is
// not refused as a duplicate of itself.
func TestRestartedMemberIsNotItsOwnDuplicate(t *testing.T) {
	a := startPool(t, config("a", "tok", 2, "127.0.0.1:0"))
	old, err := Start(config("b", "tok", 2, "127.0.0.1:0", a.Addr()), false)
	if err != nil {
		t.Fatal(err)
	}
	waitView(t, a, 2)
	// The earlier process stops without leaving, as a crash would.
	old.ml.Shutdown()
	close(old.stopc)
	old.wg.Wait()
	b := startPool(t, config("b", "tok", 2, "127.0.0.1:0", a.Addr()))
	out := bootstrapAll([]*Pool{a, b})
	all := []outcome{<-out, <-out}
	checkAgreement(t, all, 2)
}

// TestNewcomerFindsRunningCluster: once the members mark themselves
// started, a member with the token is told to join them.
func TestNewcomerFindsRunningCluster(t *testing.T) {
	a := startPool(t, config("a", "tok", 1, "127.0.0.1:0"))
	res, err := a.Bootstrap(context.Background())
	if err != nil || len(res.InitialCluster) != 1 {
		t.Fatalf("a: %+v %v", res, err)
	}
	a.MarkStarted()
	late := startPool(t, config("late", "tok", 1, "127.0.0.1:0", a.Addr()))
	res, err = late.Bootstrap(context.Background())
	if err != nil || len(res.Running) != 1 || res.Running[0].Name != "a" || res.Running[0].PeerURLs[0] != "http://a.test:2380" {
		t.Fatalf("late: %+v %v", res, err)
	}
}

// TestRestartedMemberIsFoundAsStarted: a member started from its data
// dir gossips as started, and newcomers join it.
func TestRestartedMemberIsFoundAsStarted(t *testing.T) {
	p, err := Start(config("old", "tok", 0, "127.0.0.1:0"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	late := startPool(t, config("new", "tok", 3, "127.0.0.1:0", p.Addr()))
	res, err := late.Bootstrap(context.Background())
	if err != nil || len(res.Running) != 1 || res.Running[0].Name != "old" {
		t.Fatalf("new: %+v %v", res, err)
	}
}
