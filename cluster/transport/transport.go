package transport

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// Raft is the member's Raft node as the transport sees it.
type Raft interface {
	// Process hands a message received from a peer to Raft. It may block
	// while Raft is busy; it returns an error when ctx ends or the member stops.
	Process(ctx context.Context, m raftpb.Message) error
	// ReportUnreachable tells Raft that a message to id was lost. It must
	// not block: Send calls it, on the goroutine that runs Raft.
	ReportUnreachable(id uint64)
	// ReportSnapshot tells Raft how sending a snapshot to id ended. It must
	// not block either.
	ReportSnapshot(id uint64, status raft.SnapshotStatus)
	// IsIDRemoved reports whether id was removed from the cluster.
	IsIDRemoved(id uint64) bool
}

// Snapshots gives the transport the snapshot files of the member.
type Snapshots interface {
	// Open opens the snapshot file at index and term, and returns its size.
	Open(index, term uint64) (io.ReadCloser, int64, error)
	// Receive stores a snapshot file streamed by a peer's Open, checking it.
	Receive(index, term uint64, r io.Reader) error
}

// ErrNoTLS is returned when dialing a peer at an https:// URL through a
// Transport configured without DialTLS.
var ErrNoTLS = errors.New("transport: peer URL is https but this member has no peer TLS")

// Config is what a Transport needs.
type Config struct {
	// ID is this member's ID; ClusterID the cluster's.
	ID, ClusterID uint64
	Raft          Raft
	Snapshots     Snapshots
	// Dial opens connections to peers at http:// URLs; nil means plain TCP.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// DialTLS opens connections to peers at https:// URLs and returns them
	// with the TLS handshake done; nil refuses such peers.
	DialTLS func(ctx context.Context, network, addr string) (net.Conn, error)
	// OnRemoved is called (once, and must not block) when a peer answers
	// that this member was removed from the cluster.
	OnRemoved func()
	// Drop, if set, is asked about each outgoing message and snapshot; true
	// loses it, as a network partition would. Tests use it.
	Drop func(to uint64) bool
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// SnapshotStall is how long a snapshot transfer may go without moving
	// a byte before it fails, on either side. Zero means 10 s; tests
	// shorten it.
	SnapshotStall time.Duration
}

func (c *Config) validate() error {
	if c.ID == 0 || c.ClusterID == 0 {
		return errors.New("transport: member and cluster IDs must be set")
	}
	if c.Raft == nil || c.Snapshots == nil {
		return errors.New("transport: Raft and Snapshots must be set")
	}
	if c.Dial == nil {
		c.Dial = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	}
	if c.DialTLS == nil {
		c.DialTLS = func(_ context.Context, _, addr string) (net.Conn, error) {
			return nil, fmt.Errorf("%w: %s", ErrNoTLS, addr)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case c.SnapshotStall == 0:
		c.SnapshotStall = defaultSnapshotStall
	case c.SnapshotStall < 0:
		return fmt.Errorf("transport: negative SnapshotStall %v", c.SnapshotStall)
	}
	return nil
}

const (
	streamPath   = "/raft/stream"
	snapshotPath = "/raft/snapshot"

	headerClusterID = "X-Etcd-Cluster-ID"
	headerFrom      = "X-Server-From"
	headerTo        = "X-Raft-To"

	dialTimeout     = time.Second
	responseTimeout = 5 * time.Second
	// queueSize is how many messages wait for one peer before Send drops.
	queueSize = 4096
	// maxBatchBytes bounds one write to a stream.
	maxBatchBytes = 1 << 20
	// retryInterval is how long a peer whose stream failed is given before
	// it is dialled again; messages meanwhile are dropped and reported.
	retryInterval = 100 * time.Millisecond
	// maxFrameSize bounds a received message, so a broken stream cannot
	// make the receiver allocate without limit.
	maxFrameSize = 512 << 20
	// defaultSnapshotStall is Config.SnapshotStall's default: without it, a
	// peer gone silent mid-transfer is noticed only by TCP keep-alives
	// (receiving, ~2.5 min) or retransmission timeouts (sending, ~15 min).
	defaultSnapshotStall = 10 * time.Second
)

// Transport sends and receives the Raft messages of one member.
type Transport struct {
	cfg    Config
	client *http.Client
	logger *slog.Logger

	mu    sync.RWMutex // guards peers
	peers map[uint64]*peer

	removedOnce sync.Once
	serversMu   sync.Mutex // guards servers and conns
	servers     []*http.Server
	// conns are the hijacked stream connections being read, by sender,
	// which closing the servers does not close.
	conns   map[net.Conn]uint64
	stopped chan struct{}
	// ctx ends at Stop; received messages are processed under it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a Transport with no peers.
func New(cfg Config) (*Transport, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	stalling := func(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &stallConn{Conn: c, stall: cfg.SnapshotStall}, nil
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Transport{
		ctx:    ctx,
		cancel: cancel,
		cfg:    cfg,
		// The client carries only snapshots: its connections fail a
		// write that moves nothing for SnapshotStall.
		client: &http.Client{Transport: &http.Transport{
			DialContext:           stalling(cfg.Dial),
			DialTLSContext:        stalling(cfg.DialTLS),
			ResponseHeaderTimeout: responseTimeout,
			MaxIdleConnsPerHost:   2,
		}},
		conns:   map[net.Conn]uint64{},
		logger:  cfg.Logger,
		peers:   map[uint64]*peer{},
		stopped: make(chan struct{}),
	}, nil
}

// AddPeer starts sending to id at urls. Adding a known peer updates its URLs.
func (t *Transport) AddPeer(id uint64, urls []string) {
	if id == t.cfg.ID {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.peers[id]; ok {
		p.setURLs(urls)
		return
	}
	select {
	case <-t.stopped:
		return
	default:
	}
	p := newPeer(t, id, urls)
	t.peers[id] = p
	t.wg.Add(1)
	go p.run()
	p.wg.Add(1)
	go p.probe()
	t.logger.Info("added peer", "peer-id", fmt.Sprintf("%x", id), "peer-urls", urls)
}

// RemovePeer stops sending to id and closes its streams to this member: a
// removed member that dials again is told it was removed.
func (t *Transport) RemovePeer(id uint64) {
	t.mu.Lock()
	p, ok := t.peers[id]
	delete(t.peers, id)
	t.mu.Unlock()
	if ok {
		p.stop()
		t.logger.Info("removed peer", "peer-id", fmt.Sprintf("%x", id))
	}
	t.serversMu.Lock()
	for c, from := range t.conns {
		if from == id {
			c.Close()
		}
	}
	t.serversMu.Unlock()
}

// Peers returns the IDs of the peers the transport sends to.
func (t *Transport) Peers() []uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	ids := make([]uint64, 0, len(t.peers))
	for id := range t.peers {
		ids = append(ids, id)
	}
	return ids
}

// ActiveSince returns when the stream to id was last established, zero if
// it is down or id unknown.
func (t *Transport) ActiveSince(id uint64) time.Time {
	t.mu.RLock()
	p, ok := t.peers[id]
	t.mu.RUnlock()
	if !ok {
		return time.Time{}
	}
	if ns := p.activeSince.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Send queues msgs for their peers without blocking. Messages to peers
// whose queue is full are dropped and the peer reported unreachable;
// messages to unknown peers are dropped, a MsgSnap reported as failed.
func (t *Transport) Send(msgs []raftpb.Message) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for i := range msgs {
		m := msgs[i]
		if m.To == t.cfg.ID || m.To == 0 {
			continue
		}
		p, ok := t.peers[m.To]
		if !ok {
			t.logger.Debug("dropping message to unknown peer", "to", fmt.Sprintf("%x", m.To), "type", m.Type.String())
			if m.Type == raftpb.MsgSnap {
				// Raft holds the follower in StateSnapshot until told.
				t.cfg.Raft.ReportSnapshot(m.To, raft.SnapshotFailure)
			}
			continue
		}
		if t.cfg.Drop != nil && t.cfg.Drop(m.To) {
			if m.Type == raftpb.MsgSnap {
				t.cfg.Raft.ReportSnapshot(m.To, raft.SnapshotFailure)
			}
			continue
		}
		if m.Type == raftpb.MsgSnap {
			p.sendSnapshot(m)
			continue
		}
		select {
		case p.msgc <- m:
		default:
			p.reportUnreachable()
		}
	}
}

// Handler returns the HTTP handler for the transport's paths (/raft/...),
// for a caller that serves the peer port itself.
func (t *Transport) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(streamPath, t.serveStream)
	mux.HandleFunc(snapshotPath, t.serveSnapshot)
	mux.HandleFunc(probingPath, serveProbe)
	return mux
}

// Serve serves h on l until Stop. h normally mounts Handler at /raft/.
func (t *Transport) Serve(l net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: responseTimeout, ErrorLog: slog.NewLogLogger(t.logger.Handler(), slog.LevelDebug)}
	t.serversMu.Lock()
	select {
	case <-t.stopped:
		t.serversMu.Unlock()
		l.Close()
		return
	default:
	}
	t.servers = append(t.servers, srv)
	t.serversMu.Unlock()
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.logger.Error("serving peers failed", "address", l.Addr().String(), "error", err)
		}
	}()
}

// Stop closes the listeners and every stream, and waits for the
// transport's goroutines.
func (t *Transport) Stop() {
	t.serversMu.Lock()
	select {
	case <-t.stopped:
		t.serversMu.Unlock()
		return
	default:
	}
	close(t.stopped)
	t.cancel()
	servers := t.servers
	for c := range t.conns {
		c.Close()
	}
	t.serversMu.Unlock()
	for _, srv := range servers {
		srv.Close()
	}
	t.mu.Lock()
	peers := t.peers
	t.peers = map[uint64]*peer{}
	t.mu.Unlock()
	for _, p := range peers {
		p.stop()
	}
	t.wg.Wait()
}

func (t *Transport) setHeaders(h http.Header, to uint64) {
	h.Set(headerClusterID, strconv.FormatUint(t.cfg.ClusterID, 16))
	h.Set(headerFrom, strconv.FormatUint(t.cfg.ID, 16))
	h.Set(headerTo, strconv.FormatUint(to, 16))
}

// checkRequest validates a peer request's identity headers and answers the
// refusals itself; it returns the sender's ID and whether to go on.
func (t *Transport) checkRequest(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return 0, false
	}
	from, err1 := strconv.ParseUint(r.Header.Get(headerFrom), 16, 64)
	to, err2 := strconv.ParseUint(r.Header.Get(headerTo), 16, 64)
	cid, err3 := strconv.ParseUint(r.Header.Get(headerClusterID), 16, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		http.Error(w, "bad peer identity headers", http.StatusBadRequest)
		return 0, false
	}
	if cid != t.cfg.ClusterID {
		t.logger.Warn("request cluster ID mismatch", "local-member-id", fmt.Sprintf("%x", t.cfg.ID),
			"local-member-cluster-id", fmt.Sprintf("%x", t.cfg.ClusterID), "remote-peer-cluster-id", fmt.Sprintf("%x", cid),
			"remote-peer-id", fmt.Sprintf("%x", from))
		http.Error(w, errClusterIDMismatch, http.StatusPreconditionFailed)
		return 0, false
	}
	if to != t.cfg.ID {
		t.logger.Warn("request sent to another member ID", "local-member-id", fmt.Sprintf("%x", t.cfg.ID), "to", fmt.Sprintf("%x", to), "from", fmt.Sprintf("%x", from))
		http.Error(w, errMemberIDMismatch, http.StatusPreconditionFailed)
		return 0, false
	}
	if t.cfg.Raft.IsIDRemoved(from) {
		t.logger.Warn("refused a request from a removed member", "remote-peer-id", fmt.Sprintf("%x", from))
		http.Error(w, errRemoved, http.StatusGone)
		return 0, false
	}
	return from, true
}

// The bodies of the refusals; the sender logs them.
const (
	errClusterIDMismatch = "cluster ID mismatch"
	errMemberIDMismatch  = "to member ID mismatch"
	errRemoved           = "the member has been permanently removed from the cluster"
)

// refused interprets a refusal from a peer and returns it as an error.
func (t *Transport) refused(resp *http.Response, to uint64) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	msg := string(body)
	if n := len(msg); n > 0 && msg[n-1] == '\n' {
		msg = msg[:n-1]
	}
	if resp.StatusCode == http.StatusGone && msg == errRemoved {
		t.removedOnce.Do(func() {
			t.logger.Error("peer says this member was removed from the cluster", "peer-id", fmt.Sprintf("%x", to))
			if t.cfg.OnRemoved != nil {
				t.cfg.OnRemoved()
			}
		})
	}
	return &refusal{peer: to, reason: msg, status: resp.Status}
}

// refusal is a peer's deliberate no: it will not go away by retrying.
type refusal struct {
	peer   uint64
	reason string
	status string
}

func (r *refusal) Error() string {
	return fmt.Sprintf("peer %x refused: %s (%s)", r.peer, r.reason, r.status)
}

func (t *Transport) serveStream(w http.ResponseWriter, r *http.Request) {
	from, ok := t.checkRequest(w, r)
	if !ok {
		return
	}
	if r.Header.Get("Upgrade") != streamUpgrade {
		http.Error(w, "unsupported stream protocol "+r.Header.Get("Upgrade"), http.StatusBadRequest)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	if !t.track(conn, from) {
		return
	}
	defer t.untrack(conn)
	_ = conn.SetDeadline(time.Time{})
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + streamUpgrade + "\r\n\r\n")
	if err := brw.Flush(); err != nil {
		return
	}
	t.logger.Debug("peer stream opened", "from", fmt.Sprintf("%x", from))
	fr := newFrameReader(brw.Reader)
	received := peerReceivedBytes.WithLabelValues(fmt.Sprintf("%x", from))
	for {
		m, err := fr.next()
		received.Add(float64(fr.last))
		if err != nil {
			if !errors.Is(err, io.EOF) && t.ctx.Err() == nil {
				t.logger.Debug("peer stream ended", "from", fmt.Sprintf("%x", from), "error", err)
			}
			return
		}
		if err := t.cfg.Raft.Process(t.ctx, m); err != nil {
			return
		}
	}
}

// track counts a handler in t.wg, so that Stop waits for it (closing the
// servers does not wait for their handlers), and records its hijacked
// connection c, if not nil, so that Stop can close it. It reports false,
// and counts nothing, once the transport is stopped.
func (t *Transport) track(c net.Conn, from uint64) bool {
	t.serversMu.Lock()
	defer t.serversMu.Unlock()
	select {
	case <-t.stopped:
		return false
	default:
	}
	if c != nil {
		t.conns[c] = from
	}
	t.wg.Add(1)
	return true
}

// untrack ends what track began.
func (t *Transport) untrack(c net.Conn) {
	if c != nil {
		t.serversMu.Lock()
		delete(t.conns, c)
		t.serversMu.Unlock()
	}
	t.wg.Done()
}

func (t *Transport) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	// Stop waits for the handler: it writes to the snapshot directory,
	// which is the member's again once Stop returns.
	if !t.track(nil, 0) {
		http.Error(w, "the member is stopping", http.StatusServiceUnavailable)
		return
	}
	defer t.untrack(nil)
	from, ok := t.checkRequest(w, r)
	if !ok {
		return
	}
	body := newStallReader(w, r.Body, t.cfg.SnapshotStall)
	defer body.finish()
	// Stop ends the transfer also on a server Serve did not start.
	defer context.AfterFunc(t.ctx, body.interrupt)()
	fr := newFrameReader(body)
	m, err := fr.next()
	if err != nil || m.Type != raftpb.MsgSnap || m.Snapshot == nil {
		http.Error(w, "expected a snapshot message", http.StatusBadRequest)
		return
	}
	meta := m.Snapshot.Metadata
	start := time.Now()
	err = t.cfg.Snapshots.Receive(meta.Index, meta.Term, fr.rest())
	body.finish() // the deadlines are for the transfer, not for Process
	if err != nil {
		t.logger.Warn("failed to receive snapshot", "from", fmt.Sprintf("%x", from), "index", meta.Index, "error", err)
		http.Error(w, "snapshot refused: "+err.Error(), http.StatusBadRequest)
		return
	}
	t.logger.Info("received snapshot", "from", fmt.Sprintf("%x", from), "index", meta.Index, "term", meta.Term, "took", time.Since(start).String())
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(t.ctx, cancel)()
	if err := t.cfg.Raft.Process(ctx, m); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// appendFrame appends m, length-prefixed, to b.
func appendFrame(b []byte, m *raftpb.Message) ([]byte, error) {
	n := m.Size()
	b = binary.BigEndian.AppendUint64(b, uint64(n))
	start := len(b)
	b = slices.Grow(b, n)[:start+n]
	if _, err := m.MarshalTo(b[start:]); err != nil {
		return nil, err
	}
	return b, nil
}

// stallReader reads a request body with a read deadline pushed forward
// before each read, so that a sender that sends nothing for stall fails
// the read, however long the whole body takes.
type stallReader struct {
	r     io.Reader
	rc    *http.ResponseController
	stall time.Duration

	mu   sync.Mutex // guards done, and orders the deadline changes
	done bool       // after finish or interrupt: no more reads
}

func newStallReader(w http.ResponseWriter, r io.Reader, stall time.Duration) *stallReader {
	return &stallReader{r: r, rc: http.NewResponseController(w), stall: stall}
}

// errInterrupted is what a read of an interrupted stallReader returns.
var errInterrupted = errors.New("transport: the member is stopping")

func (s *stallReader) Read(p []byte) (int, error) {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return 0, errInterrupted
	}
	// A server that cannot set deadlines reads without them, as before.
	_ = s.rc.SetReadDeadline(time.Now().Add(s.stall))
	s.mu.Unlock()
	n, err := s.r.Read(p)
	if err != nil {
		// The body is over (or broken): the server's own read of the
		// next request must not inherit the deadline.
		s.finish()
	}
	return n, err
}

// finish clears the deadline; the body is not read any more.
func (s *stallReader) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.done = true
		_ = s.rc.SetReadDeadline(time.Time{})
	}
}

// interrupt fails the read in progress and every later one.
func (s *stallReader) interrupt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	_ = s.rc.SetReadDeadline(time.Unix(1, 0))
}
