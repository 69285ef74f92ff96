package discovery

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Config is what a member needs to take part in a discovery pool.
type Config struct {
	// Token is the shared secret of the pool (--discovery-token).
	Token string
	// Size is the initial cluster's size (--discovery-size).
	Size int
	// BindAddr is host:port the gossip listens on, TCP and UDP
	// (--discovery-bind-addr); port 0 takes a free one.
	BindAddr string
	// AdvertiseAddr is host:port the others reach the gossip at; empty
	// means BindAddr (or, for an unspecified host, a private address).
	AdvertiseAddr string
	// Join lists seed gossip addresses (--discovery-join). Seeds that do
	// not answer yet are tried again until one does.
	Join []string
	// Timeout bounds Bootstrap (--discovery-timeout).
	Timeout time.Duration
	// JoinWhenFull makes a member left out of the initial cluster wait
	// for it to start and join it as a learner, rather than fail with
	// ErrClusterFull (--discovery-when-full learner).
	JoinWhenFull bool
	// Name, PeerURLs and ClientURLs describe this member to the others.
	Name                 string
	PeerURLs, ClientURLs []string
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// Settle is how long the view of the pool must hold still before a
	// member proposes an initial cluster; zero means DefaultSettle.
	Settle time.Duration
	// Gossip, if set, adjusts memberlist's configuration (tests shorten
	// its intervals).
	Gossip func(*memberlist.Config)
}

const (
	// DefaultTimeout is --discovery-timeout's default.
	DefaultTimeout = 2 * time.Minute
	// DefaultSettle covers a few rounds of memberlist's LAN gossip (200 ms).
	DefaultSettle = time.Second
	// joinRetry is how often unanswered seeds are tried again.
	joinRetry = 500 * time.Millisecond
	// rejoinEvery is how many joinRetry ticks pass between joins of seeds
	// that are not live nodes of the pool.
	rejoinEvery = 4
	// pullEvery is how often a waiting Bootstrap exchanges the pool's state
	// with one other member (round robin).
	pullEvery = 500 * time.Millisecond
	// announceAttempts bounds how often setMeta gossips one update that
	// memberlist did not take.
	announceAttempts = 5
)

func (c *Config) validate() error {
	switch {
	case c.Token == "":
		return errors.New("discovery: --discovery-token must not be empty")
	case c.Name == "":
		return errors.New("discovery: --name must not be empty")
	case len(c.PeerURLs) == 0:
		return errors.New("discovery: the member has no peer URLs")
	case c.Size < 0:
		return fmt.Errorf("discovery: --discovery-size %d is negative", c.Size)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// TokenSize is the size a token carries, 0 for none: `larchctl discovery
// new --size 3` makes tokens of the form "3-<32 hex digits>", so that
// members need no --discovery-size. Only that exact form carries a size:
// a hand-made token such as "2024-prod-secret" carries none.
func TokenSize(token string) int {
	prefix, random, ok := strings.Cut(token, "-")
	if !ok || len(random) != 32 || strings.Trim(random, "0123456789abcdef") != "" {
		return 0
	}
	n, err := strconv.Atoi(prefix)
	if err != nil || n < 1 || strconv.Itoa(n) != prefix {
		return 0
	}
	return n
}

// GossipKey derives the pool's AES-256 key from the token: a member
// without the token can neither read the gossip nor be read.
func GossipKey(token string) []byte {
	return derive(token, "larch discovery gossip key", 32)
}

// ClusterToken derives the --initial-cluster-token of a cluster formed by
// discovery: the same on every member, and not the secret itself (the
// cluster token is logged and kept in the data dir).
func ClusterToken(token string) string {
	return "larch-discovery-" + hex.EncodeToString(derive(token, "larch discovery cluster token", 8))
}

// JoinKey derives the key that signs a joining member's request to be
// added as a learner, which members of the pool check.
func JoinKey(token string) []byte {
	return derive(token, "larch discovery join key", 32)
}

func derive(token, purpose string, n int) []byte {
	k, err := hkdf.Key(sha256.New, []byte(token), nil, purpose, n)
	if err != nil {
		panic(fmt.Sprintf("discovery: hkdf of %d bytes: %v", n, err))
	}
	return k
}

// Result is what Bootstrap found.
type Result struct {
	// InitialCluster is set when a new cluster forms: its members,
	// ordered by name, this one among them.
	InitialCluster []Meta
	// ClusterToken is the new cluster's --initial-cluster-token.
	ClusterToken string
	// Running is set when the pool already holds a cluster this member is
	// not part of: its started members, to join through.
	Running []Meta
}

// Pool is this member's place in the gossip of one token.
//
// Goroutines: memberlist's own; joinLoop, which tries the seeds until one
// answers; the caller's Bootstrap. Close stops them all.
type Pool struct {
	cfg    Config
	logger *slog.Logger
	ml     *memberlist.Memberlist
	addr   string // the advertised gossip address
	// changed wakes Bootstrap when the view changes; one slot, merged.
	changed chan struct{}
	stopc   chan struct{}
	wg      sync.WaitGroup

	mu sync.Mutex // guards meta, gossiped, nodes, proposed and joined
	// meta is what this member gossips; nodeName its memberlist name.
	meta     Meta
	nodeName string
	// gossiped is the metadata memberlist holds for this node, as it last
	// reported it: what the others are told.
	gossiped []byte
	// nodes is the other live nodes by memberlist node name, copied in the
	// event callbacks: memberlist's Members() hands out nodes it goes on
	// changing.
	nodes map[string]node
	// proposed is the initial cluster whose hash meta.Set names.
	proposed []Meta
	// joined records whether a seed answered (or there were none);
	// mismatch whether one answered in gossip this member cannot decrypt.
	joined, mismatch bool
}

// node is another live node of the pool: its metadata and gossip address.
type node struct {
	meta Meta
	addr string
}

// Start joins the pool: as a bootstrapping member, or, with started, as
// a member of a running cluster (restarted from its data dir) that others
// can find and join through.
func Start(cfg Config, started bool) (*Pool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Pool{cfg: cfg, logger: cfg.Logger, changed: make(chan struct{}, 1), stopc: make(chan struct{}), nodes: map[string]node{}}
	p.meta = Meta{Name: cfg.Name, PeerURLs: cfg.PeerURLs, ClientURLs: cfg.ClientURLs, Size: cfg.Size, Phase: PhaseWaiting, Since: time.Now().UnixNano()}
	if started {
		p.meta.Phase, p.meta.Size = PhaseStarted, 0
	}
	if b, err := p.meta.encode(); err != nil {
		return nil, err
	} else if len(b) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("discovery: the member's name and URLs take %d bytes, more than gossip carries (%d)", len(b), memberlist.MetaMaxSize)
	}
	mc := memberlist.DefaultLANConfig()
	suffix := make([]byte, 4)
	rand.Read(suffix)
	// Unique per process: a restarted member is a new node of the pool,
	// and two members given one name are told apart to be refused.
	mc.Name = cfg.Name + "-" + hex.EncodeToString(suffix)
	p.nodeName = mc.Name
	host, port, err := splitAddr(cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("discovery: --discovery-bind-addr: %w", err)
	}
	mc.BindAddr, mc.BindPort = host, port
	if cfg.AdvertiseAddr != "" {
		if mc.AdvertiseAddr, mc.AdvertisePort, err = splitAddr(cfg.AdvertiseAddr); err != nil {
			return nil, fmt.Errorf("discovery: advertise address: %w", err)
		}
	}
	mc.SecretKey = GossipKey(cfg.Token)
	mc.Delegate = delegate{p}
	mc.Events = events{p}
	mc.Logger = log.New(logWriter{p.logger}, "", 0)
	if cfg.Gossip != nil {
		cfg.Gossip(mc)
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("discovery: start gossip on %s: %w", cfg.BindAddr, err)
	}
	p.ml = ml
	// Read once: memberlist rewrites its local node on every update.
	n := ml.LocalNode()
	p.addr = net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
	p.logger.Info("discovery gossip started", "address", p.Addr(), "seeds", cfg.Join, "size", cfg.Size, "phase", p.meta.Phase)
	p.wg.Add(1)
	go p.joinLoop()
	return p, nil
}

func splitAddr(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, n, nil
}

// Addr is the gossip address others reach this member at.
func (p *Pool) Addr() string { return p.addr }

// joinLoop tries the seeds until one answers: a seed may still be
// starting, and members need not start in any order. Then, for as long as
// the pool runs, it joins again any seed that is not a live node of the
// pool: a seed that restarted is a new node, which would otherwise never
// meet the members that joined through its earlier self.
func (p *Pool) joinLoop() {
	defer p.wg.Done()
	t := time.NewTicker(joinRetry)
	defer t.Stop()
	var lastErr string
	for ticks := 0; ; ticks++ {
		p.mu.Lock()
		joined := p.joined
		p.mu.Unlock()
		var seeds []string
		switch {
		case !joined:
			seeds = p.otherSeeds()
		case ticks%rejoinEvery == 0:
			seeds = p.absentSeeds()
		}
		if len(seeds) == 0 && !joined {
			// Every seed is this member itself: it is the first.
			p.markJoined()
		}
		if len(seeds) > 0 {
			n, err := p.ml.Join(seeds)
			switch {
			case n > 0 && !joined:
				p.logger.Info("discovery joined the pool", "seeds-answered", n)
				p.markJoined()
			case n > 0:
				p.logger.Info("discovery joined seeds again", "seeds", seeds)
			case err != nil && !joined:
				if strings.Contains(err.Error(), "no installed keys could decrypt") {
					p.mu.Lock()
					p.mismatch = true
					p.mu.Unlock()
				}
				if err.Error() != lastErr {
					lastErr = err.Error()
					p.logger.Info("discovery seeds not reached yet; retrying", "seeds", seeds, "error", err)
				}
			}
		}
		select {
		case <-p.stopc:
			return
		case <-t.C:
		}
	}
}

func (p *Pool) markJoined() {
	p.mu.Lock()
	p.joined = true
	p.mu.Unlock()
	p.wake()
}

// otherSeeds are the seeds but this member's own address.
func (p *Pool) otherSeeds() []string {
	self := p.Addr()
	var out []string
	for _, s := range p.cfg.Join {
		if s != self && s != p.cfg.BindAddr {
			out = append(out, s)
		}
	}
	return out
}

// absentSeeds are the other seeds at whose address no live node is.
func (p *Pool) absentSeeds() []string {
	p.mu.Lock()
	live := map[string]bool{}
	for _, n := range p.nodes {
		live[n.addr] = true
	}
	p.mu.Unlock()
	var out []string
	for _, s := range p.otherSeeds() {
		if !live[s] {
			out = append(out, s)
		}
	}
	return out
}

func (p *Pool) wake() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// view is every live member's metadata, this one's included.
//
// A member that restarted is, until the others' failure detector declares
// its earlier process dead, two nodes with one name and the same peer
// URLs: the view keeps the newer (this process, for this member).
func (p *Pool) view() []Meta {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []Meta{p.meta}
	for _, name := range slices.Sorted(maps.Keys(p.nodes)) {
		m := p.nodes[name].meta
		i := slices.IndexFunc(out, func(o Meta) bool { return o.Name == m.Name && slices.Equal(o.PeerURLs, m.PeerURLs) })
		switch {
		case i < 0:
			out = append(out, m)
		case i > 0 && m.Since > out[i].Since:
			out[i] = m
		}
	}
	return out
}

// noteNode records a node's metadata (nil when it left), called by
// memberlist with its state locked, so n is stable here.
func (p *Pool) noteNode(n *memberlist.Node, left bool) {
	if n.Name == p.nodeName {
		p.mu.Lock()
		p.gossiped = bytes.Clone(n.Meta)
		p.mu.Unlock()
		return
	}
	var m Meta
	var err error
	if !left {
		if m, err = decodeMeta(n.Meta); err != nil {
			p.logger.Warn("discovery ignores a pool member", "node", n.Name, "error", err)
			left = true
		}
	}
	p.mu.Lock()
	if left {
		delete(p.nodes, n.Name)
	} else {
		p.nodes[n.Name] = node{meta: m, addr: net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))}
	}
	p.mu.Unlock()
	p.wake()
}

// setMeta changes this member's metadata and gossips it.
//
// memberlist's UpdateNode takes its incarnation number before it takes
// its lock, so a refutation of a suspicion that comes in between goes out
// with the old metadata and a newer number, and the update is dropped:
// the pool would never see it (a proposal lost so leaves its peers
// waiting for agreement until they time out). So the update is gossiped
// again until memberlist reports holding it.
func (p *Pool) setMeta(update func(*Meta)) {
	p.mu.Lock()
	update(&p.meta)
	p.mu.Unlock()
	for attempt := 1; ; attempt++ {
		// Its error only says the broadcast is still queued when the
		// timeout ends.
		if err := p.ml.UpdateNode(time.Second); err != nil {
			p.logger.Debug("discovery metadata update still spreading", "error", err)
		}
		p.mu.Lock()
		want, err := p.meta.encode()
		held := err == nil && bytes.Equal(p.gossiped, want)
		p.mu.Unlock()
		if held {
			return
		}
		select {
		case <-p.stopc:
			return
		default:
		}
		if attempt == announceAttempts {
			p.logger.Warn("discovery metadata update not taken by the gossip layer", "attempts", attempt)
			return
		}
		p.logger.Info("discovery metadata update was overtaken; gossiping it again", "attempt", attempt)
	}
}

// pullLoop exchanges the pool's state with one other live member at a
// time, round robin, until ctx ends. Gossip spreads an update to every
// member only with high probability, and memberlist's own full exchange
// comes every 30 s: a waiting member that missed a peer's proposal would
// otherwise wait that long, or time out.
func (p *Pool) pullLoop(ctx context.Context) {
	defer p.wg.Done()
	t := time.NewTicker(pullEvery)
	defer t.Stop()
	for turn := 0; ; turn++ {
		select {
		case <-ctx.Done():
			return
		case <-p.stopc:
			return
		case <-t.C:
		}
		p.mu.Lock()
		addrs := make([]string, 0, len(p.nodes))
		for _, name := range slices.Sorted(maps.Keys(p.nodes)) {
			addrs = append(addrs, p.nodes[name].addr)
		}
		p.mu.Unlock()
		if len(addrs) == 0 {
			continue
		}
		// A join with a live member is memberlist's push/pull exchange.
		if _, err := p.ml.Join([]string{addrs[turn%len(addrs)]}); err != nil {
			p.logger.Debug("discovery state exchange failed", "address", addrs[turn%len(addrs)], "error", err)
		}
	}
}

// Bootstrap waits until the pool has formed an initial cluster with this
// member in it, or shows a running cluster to join, and says which.
func (p *Pool) Bootstrap(ctx context.Context) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	p.wg.Add(1)
	go p.pullLoop(ctx)
	var settled *time.Timer
	defer func() {
		if settled != nil {
			settled.Stop()
		}
	}()
	settledC := make(chan struct{}, 1)
	var lastNames []string
	var lastChange time.Time
	waitingFull := false
	for {
		view := p.view()
		if names := bootstrapping(view); !slices.Equal(names, lastNames) {
			lastNames, lastChange = names, time.Now()
		}
		p.mu.Lock()
		self := p.meta
		p.mu.Unlock()
		d := decide(self, view, p.cfg.Size)
		if d.kind == fail && errors.Is(d.err, ErrClusterFull) && p.cfg.JoinWhenFull {
			if !waitingFull {
				p.logger.Info("discovery: the initial cluster is full; joining it once it runs", "members", names(d.set))
				waitingFull = true
			}
			d.kind = wait
		}
		switch d.kind {
		case fail:
			return Result{}, d.err
		case join:
			p.logger.Info("discovery found a running cluster", "members", names(d.set))
			return Result{Running: d.set}, nil
		case start:
			set := d.set
			if set == nil {
				p.mu.Lock()
				set = p.proposed
				p.mu.Unlock()
			}
			p.logger.Info("discovery formed the initial cluster", "members", names(set))
			return Result{InitialCluster: set, ClusterToken: ClusterToken(p.cfg.Token)}, nil
		case propose:
			if wait := p.cfg.Settle - time.Since(lastChange); wait > 0 {
				if settled != nil {
					settled.Stop()
				}
				settled = time.AfterFunc(wait, func() {
					select {
					case settledC <- struct{}{}:
					default:
					}
				})
				break
			}
			if h := setHash(d.set); h != self.Set {
				p.logger.Info("discovery proposes an initial cluster", "members", names(d.set), "set", h)
				p.mu.Lock()
				p.proposed = d.set
				p.mu.Unlock()
				p.setMeta(func(m *Meta) { m.Phase, m.Set = PhaseProposed, h })
				continue
			}
		}
		select {
		case <-p.changed:
		case <-settledC:
		case <-ctx.Done():
			return Result{}, p.timeoutError(ctx, view)
		}
	}
}

// bootstrapping lists the names of the bootstrapping members of view.
func bootstrapping(view []Meta) []string {
	var out []string
	for _, m := range view {
		if m.Phase != PhaseStarted {
			out = append(out, m.Name)
		}
	}
	slices.Sort(out)
	return out
}

func (p *Pool) timeoutError(ctx context.Context, view []Meta) error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err()
	}
	p.mu.Lock()
	joined, mismatch := p.joined, p.mismatch
	p.mu.Unlock()
	if !joined && mismatch {
		return fmt.Errorf("%w: seeds %v answer in gossip this member cannot decrypt: they were started with another --discovery-token", ErrTokenMismatch, p.cfg.Join)
	}
	if !joined {
		return fmt.Errorf("%w after %v: no seed of %v answered (is the token the same on every member, and are the seeds running?)", ErrTimeout, p.cfg.Timeout, p.cfg.Join)
	}
	seen := bootstrapping(view)
	return fmt.Errorf("%w after %v: saw %d of %d members (%s), %d missing", ErrTimeout, p.cfg.Timeout, len(seen), p.cfg.Size,
		strings.Join(seen, ", "), max(0, p.cfg.Size-len(seen)))
}

// MarkStarted tells the pool this member runs Raft, in the cluster it
// proposed (or, restarted from disk, in the one its data dir holds).
func (p *Pool) MarkStarted() {
	p.setMeta(func(m *Meta) { m.Phase, m.Size = PhaseStarted, 0 })
}

// Members is the pool's current view.
func (p *Pool) Members() []Meta { return p.view() }

// Close leaves the pool and stops gossiping.
func (p *Pool) Close() error {
	close(p.stopc)
	p.wg.Wait()
	if err := p.ml.Leave(time.Second); err != nil {
		p.logger.Debug("discovery leave", "error", err)
	}
	return p.ml.Shutdown()
}

type delegate struct{ p *Pool }

func (d delegate) NodeMeta(limit int) []byte {
	d.p.mu.Lock()
	defer d.p.mu.Unlock()
	b, err := d.p.meta.encode()
	if err != nil || len(b) > limit {
		// Start checked the size; nothing else can fail to encode.
		panic(fmt.Sprintf("discovery: metadata of %d bytes (limit %d): %v", len(b), limit, err))
	}
	return b
}
func (delegate) NotifyMsg([]byte)                {}
func (delegate) GetBroadcasts(int, int) [][]byte { return nil }
func (delegate) LocalState(bool) []byte          { return nil }
func (delegate) MergeRemoteState([]byte, bool)   {}

type events struct{ p *Pool }

func (e events) NotifyJoin(n *memberlist.Node)   { e.p.noteNode(n, false) }
func (e events) NotifyLeave(n *memberlist.Node)  { e.p.noteNode(n, true) }
func (e events) NotifyUpdate(n *memberlist.Node) { e.p.noteNode(n, false) }

// memberlistLevels map memberlist's level prefixes to slog's; its INFO
// is chatter about every probe, so it goes to debug.
var memberlistLevels = []struct {
	prefix string
	level  slog.Level
}{{"[ERR] ", slog.LevelError}, {"[WARN] ", slog.LevelWarn}, {"[INFO] ", slog.LevelDebug}, {"[DEBUG] ", slog.LevelDebug}}

// logWriter turns memberlist's "[LEVEL] memberlist: ..." lines into
// structured logs.
type logWriter struct{ logger *slog.Logger }

func (w logWriter) Write(b []byte) (int, error) {
	msg := string(bytes.TrimSpace(b))
	level := slog.LevelDebug
	for _, l := range memberlistLevels {
		if i := bytes.Index(b, []byte(l.prefix)); i >= 0 {
			level, msg = l.level, string(bytes.TrimSpace(b[i+len(l.prefix):]))
			break
		}
	}
	w.logger.Log(context.Background(), level, msg, "component", "memberlist")
	return len(b), nil
}
