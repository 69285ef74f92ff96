package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/larchkv/larch/auth"
	"github.com/larchkv/larch/auth/token"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/larchkv/larch/cluster/transport"
	"github.com/larchkv/larch/cluster/wal"
	"github.com/larchkv/larch/cluster/watch"
	"github.com/larchkv/larch/tree"
	"github.com/larchkv/larch/tree/lease"
	"github.com/larchkv/larch/tree/mvcc"
)

// Errors returned to callers of Propose and the read paths. The API layers
// map them to etcd's wire errors.
var (
	// ErrStopped is returned once the server is shutting down.
	ErrStopped = errors.New("cluster: server stopped")
	// ErrTimeout is returned when a proposal or read index did not complete in time.
	ErrTimeout = errors.New("cluster: request timed out")
	// ErrRequestTooLarge is returned for a proposal larger than MaxRequestBytes.
	ErrRequestTooLarge = errors.New("cluster: request is too large")
	// ErrNoLeader is returned when there is no leader to serve a read index.
	ErrNoLeader = errors.New("cluster: no leader")
)

// Result is what applying one proposal produced: a response message of the
// store it was for, or the error the store refused it with.
type Result struct {
	Resp any
	Err  error
}

// errNeverBootstrapped is returned by restart for a WAL that holds nothing.
var errNeverBootstrapped = errors.New("cluster: wal was never bootstrapped")

// walMetadata is written at the head of the WAL: what a restart needs to know
// before anything is replayed.
type walMetadata struct {
	MemberID  MemberID  `json:"memberID"`
	ClusterID ClusterID `json:"clusterID"`
	// JoinPeers are the members a member joining a running cluster learned
	// from its peers: until the log brings the membership, they are whom
	// it answers, restarts included.
	JoinPeers []Member `json:"joinPeers,omitempty"`
}

// Server is one member: a Raft node, its WAL and snapshots, and the state
// machines it applies committed entries to.
type Server struct {
	cfg    Config
	logger *slog.Logger

	id        MemberID
	clusterID ClusterID

	// rn and prevHS are owned by the runRaft goroutine; others reach rn
	// through cmdc. prevHS is the last HardState raft reported.
	rn     *raft.RawNode
	prevHS raftpb.HardState
	// bootstrapping is set while NewServer handles the first Ready itself.
	bootstrapping bool
	propc         chan proposal
	// persistScratch and persistEntries are the raft loop's reusable
	// buffers for handing entries to the WAL.
	persistScratch []byte
	persistEntries []wal.Entry
	cmdc           chan func(*raft.RawNode)
	// recvc carries messages from peers to the raft loop; reports carries
	// the transport's unreachable and snapshot reports.
	recvc     chan raftpb.Message
	reports   peerReports
	transport *transport.Transport
	// leaderClient carries the requests forwarded to the leader (lease
	// renewals, promotions): one client, so its connections are reused.
	leaderClient *http.Client
	raftStorage  *raft.MemoryStorage
	snapshotter  *wal.Snapshotter
	// lock holds the data dir's lock until Stop.
	lock *os.File

	// walMu serialises the raft loop's appends with the snapshot
	// goroutine's marks and releases.
	walMu sync.Mutex
	wal   *wal.WAL

	kv *mvcc.Store
	v2 *tree.Store
	// watchers are fed the keyspace's changes by the apply loop.
	watchers *watch.Hub
	// leases are the replicated leases; leaseClock their deadlines while
	// this member leads.
	leases *lease.Store
	// authStore is the replicated auth state; tokens the sessions
	// Authenticate opened (per member, learned from the log); passwords
	// checks passwords.
	authStore *auth.Store
	// alarms are the replicated alarms (alarm.go).
	alarms    alarmSet
	tokens    token.Provider
	passwords *auth.Passwords
	// replayedTo is the commit index the WAL held at start: entries up to
	// it were applied before, and their sessions are not opened again.
	replayedTo uint64
	leaseClock leaseClock

	// membersMu guards members, removed and confState; the apply loop
	// writes them, API readers copy them.
	membersMu sync.RWMutex
	members   map[MemberID]*Member
	removed   map[MemberID]bool
	confState raftpb.ConfState
	// confChangeSem admits one configuration change proposal at a time.
	confChangeSem chan struct{}
	// joinNonces are the signed join requests taken lately (join.go).
	joinNonces joinNonces
	// clusterVersion is decided once every voter published itself.
	clusterVersion string
	// isLearner mirrors this member's learner flag in members.
	isLearner atomic.Bool
	// joinPeers are the members a joining member learned from its peers,
	// for the transport until the log brings the membership.
	joinPeers []Member

	reqIDs  *idGenerator
	waiters waitRegistry

	term    atomic.Uint64
	leader  atomic.Uint64
	applied indexWaiter
	// commitIndex is the last committed index the raft loop has seen.
	commitIndex atomic.Uint64

	applyc     chan applyBatch
	readStatec chan raft.ReadState
	// pendingReadID is the request ID of the read index round in flight.
	pendingReadID atomic.Uint64
	readwaitc     chan struct{}
	readMu        sync.Mutex
	readPending   *readNotifier

	// snapshotNow asks the apply loop for a snapshot outside the cadence.
	snapshotNow chan struct{}
	// snapshotSem is held while a snapshot is being written: by the
	// background writer the apply loop starts, which never waits for it,
	// or by Defragment, which does.
	snapshotSem chan struct{}
	// applyCalls carries functions to run in the apply loop, between
	// entries: what must see the state at one index (applyCall).
	applyCalls     chan func()
	lastSnapIndex  uint64 // apply loop only
	bytesSinceSnap int64  // apply loop only: entry bytes applied since the last snapshot
	// lastSnapshotSize is the size of the newest snapshot file, set by the
	// snapshot goroutine.
	lastSnapshotSize atomic.Int64
	appliedTerm      uint64 // apply loop only
	// dbSizeHigh is the largest the keyspace grew since the start or the
	// last Defragment: the "allocated" size (DBSize).
	dbSizeHigh atomic.Int64

	// readyc is closed once this member's attributes are published, which
	// means every entry before the publish is applied: from then on local
	// reads see every write acknowledged before the last stop.
	readyc   chan struct{}
	stopping chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	// fatal carries an error that must stop the member (corrupt log, disk failure).
	fatal chan error
}

type applyBatch struct {
	// snapshot, if set, is a leader's snapshot to restore before entries.
	snapshot *raftpb.Snapshot
	entries  []raftpb.Entry
	// applied, if not nil, is closed once every entry is applied.
	applied chan struct{}
}

// NewServer opens or bootstraps the member described by cfg and starts it.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:           cfg,
		logger:        cfg.Logger,
		raftStorage:   raft.NewMemoryStorage(),
		kv:            mvcc.New(),
		v2:            tree.New(),
		leases:        lease.New(),
		authStore:     auth.NewStore(),
		members:       map[MemberID]*Member{},
		removed:       map[MemberID]bool{},
		recvc:         make(chan raftpb.Message, 1024),
		reports:       peerReports{wake: make(chan struct{}, 1)},
		confChangeSem: make(chan struct{}, 1),
		snapshotNow:   make(chan struct{}, 1),
		snapshotSem:   make(chan struct{}, 1),
		applyCalls:    make(chan func()),
		applyc:        make(chan applyBatch, 256),
		// Unbuffered, like raft.Node's: a proposal that gives up before the
		// raft loop took it (no leader, say) never reaches the log.
		propc:       make(chan proposal),
		cmdc:        make(chan func(*raft.RawNode)),
		readStatec:  make(chan raft.ReadState, 1),
		readwaitc:   make(chan struct{}, 1),
		readPending: newReadNotifier(),
		readyc:      make(chan struct{}),
		stopping:    make(chan struct{}),
		done:        make(chan struct{}),
		fatal:       make(chan error, 1),
	}
	opts, err := token.ParseOptions(cfg.AuthToken)
	if err != nil {
		return nil, err
	}
	if s.tokens, err = token.New(opts, cfg.AuthTokenTTL); err != nil {
		return nil, err
	}
	if s.passwords, err = auth.NewPasswords(cfg.BcryptCost); err != nil {
		return nil, err
	}
	s.applied.init()
	dirs := memberDirs(cfg.DataDir)
	memberDir, walDir, snapDir := dirs.member, dirs.wal, dirs.snap
	if err := os.MkdirAll(snapDir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster: create data dir: %w", err)
	}
	lock, err := lockDataDir(memberDir)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	s.snapshotter = wal.NewSnapshotter(snapDir, s.logger)

	rcfg := &raft.Config{
		ElectionTick:    cfg.ElectionTicks,
		HeartbeatTick:   1,
		Storage:         s.raftStorage,
		MaxSizePerMsg:   1 << 20,
		MaxInflightMsgs: 512,
		CheckQuorum:     true,
		PreVote:         true,
		// StepDownOnRemoval stays off, as in etcd: a leader that removed
		// itself keeps heartbeating, and so passing the commit of its
		// removal on, until it stops a few ticks later.
		Logger: raftLogger{s.logger},
	}
	exists, err := wal.Exist(walDir)
	if err != nil {
		s.lock.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if exists {
		err = s.restart(walDir, rcfg)
		if errors.Is(err, errNeverBootstrapped) {
			// A crash between creating the WAL and making the bootstrap
			// entries durable leaves a WAL with nothing in it: nothing was
			// ever acknowledged, so bootstrapping again loses nothing.
			s.logger.Warn("wal holds no entries, no hard state and no snapshot; bootstrapping again", "dir", walDir)
			s.wal.Close()
			s.wal = nil
			if err = os.RemoveAll(walDir); err == nil {
				err = s.bootstrap(walDir, rcfg)
			}
		}
	} else {
		err = s.bootstrap(walDir, rcfg)
	}
	if err == nil {
		err = s.startTransport()
	}
	if err == nil {
		s.watchers = watch.New(s.kv, s.logger)
	}
	if err != nil {
		if s.wal != nil {
			s.wal.Close()
		}
		for _, l := range cfg.PeerListeners {
			l.Close()
		}
		s.lock.Close()
		return nil, err
	}
	s.reqIDs = newIDGenerator(s.id, time.Now())
	s.start()
	metricsMember.Store(s)
	return s, nil
}

func (s *Server) bootstrap(walDir string, rcfg *raft.Config) error {
	if len(s.cfg.InitialCluster) == 0 {
		return errors.New("cluster: initial cluster is empty")
	}
	if s.cfg.InitialClusterState == "existing" {
		return s.join(walDir, rcfg)
	}
	var ids []MemberID
	var peers []raft.Peer
	var self *Member
	if err := checkInitialCluster(&s.cfg); err != nil {
		return err
	}
	for _, im := range s.cfg.InitialCluster {
		m := &Member{ID: ComputeMemberID(im.PeerURLs, s.cfg.InitialClusterToken), Name: im.Name, PeerURLs: slices.Clone(im.PeerURLs)}
		if im.Name == s.cfg.Name {
			self = m
		}
		ctx, err := json.Marshal(m)
		if err != nil {
			return err
		}
		ids = append(ids, m.ID)
		peers = append(peers, raft.Peer{ID: uint64(m.ID), Context: ctx})
	}
	if err := s.checkNotBootstrapped(self.ID); err != nil {
		return err
	}
	s.id = self.ID
	s.clusterID = ComputeClusterID(ids)
	rn, err := s.createLog(walDir, rcfg, walMetadata{MemberID: s.id, ClusterID: s.clusterID})
	if err != nil {
		return err
	}
	if err := rn.Bootstrap(peers); err != nil {
		return fmt.Errorf("cluster: bootstrap raft: %w", err)
	}
	s.rn = rn
	// The bootstrap entries are made durable before NewServer returns, so a
	// member stopped right away still knows its cluster when it restarts.
	// Bootstrap already put the configuration into raft's tracker, and the
	// apply loop is not running yet: nothing to wait for here.
	s.bootstrapping = true
	rd := rn.Ready()
	ok := s.handleReady(rd)
	s.bootstrapping = false
	if !ok {
		return fmt.Errorf("cluster: persist bootstrap entries: %w", <-s.fatal)
	}
	rn.Advance(rd)
	s.logger.Info("bootstrapped new cluster member", "name", s.cfg.Name, "member-id", s.id.String(), "cluster-id", s.clusterID.String(), "members", len(peers))
	return nil
}

// createLog creates the WAL of a new member with meta at its head and a
// Raft node for it.
func (s *Server) createLog(walDir string, rcfg *raft.Config, meta walMetadata) (*raft.RawNode, error) {
	b, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	w, err := wal.Create(walDir, b, s.walOptions())
	if err != nil {
		return nil, fmt.Errorf("cluster: create wal: %w", err)
	}
	s.wal = w
	rcfg.ID = uint64(s.id)
	rn, err := raft.NewRawNode(rcfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: start raft: %w", err)
	}
	return rn, nil
}

// checkInitialCluster refuses an --initial-cluster that cannot describe
// this member's cluster.
func checkInitialCluster(cfg *Config) error {
	var self *InitialMember
	seen := map[string]string{}
	names := map[string]bool{}
	for i, im := range cfg.InitialCluster {
		if names[im.Name] {
			return fmt.Errorf("cluster: member name %q appears twice in the initial cluster", im.Name)
		}
		names[im.Name] = true
		for _, u := range im.PeerURLs {
			if other, ok := seen[u]; ok {
				return fmt.Errorf("cluster: member count is unequal: the peer URL %s is given to both %q and %q in the initial cluster", u, other, im.Name)
			}
			seen[u] = im.Name
		}
		if im.Name == cfg.Name {
			self = &cfg.InitialCluster[i]
		}
	}
	if self == nil {
		return fmt.Errorf("cluster: couldn't find local name %q in the initial cluster configuration", cfg.Name)
	}
	if len(cfg.PeerURLs) > 0 && !sameURLs(self.PeerURLs, cfg.PeerURLs) {
		return fmt.Errorf("cluster: --initial-cluster has %s=%v but --initial-advertise-peer-urls has %v", cfg.Name, self.PeerURLs, cfg.PeerURLs)
	}
	return nil
}

// warnIfFlagsDescribeAnotherCluster says so when the bootstrap flags would
// make another cluster than the one in the data dir. Like etcd, a member
// with data ignores them; the warning explains why a changed token or
// member list has no effect, and points at a data dir copied from
// elsewhere, which its peers will refuse.
func (s *Server) warnIfFlagsDescribeAnotherCluster() {
	if s.cfg.InitialClusterState != "new" || len(s.cfg.InitialCluster) == 0 {
		return
	}
	var ids []MemberID
	for _, im := range s.cfg.InitialCluster {
		ids = append(ids, ComputeMemberID(im.PeerURLs, s.cfg.InitialClusterToken))
	}
	if cid := ComputeClusterID(ids); cid != s.clusterID {
		s.logger.Warn("the data dir holds a member of another cluster than --initial-cluster and --initial-cluster-token describe; the flags are ignored",
			"data-dir", s.cfg.DataDir, "member-id", s.id.String(), "cluster-id", s.clusterID.String(), "flags-cluster-id", cid.String())
	}
}

// join starts a member added to a running cluster (--initial-cluster-state
// existing): it learns its ID and the cluster's from the members it is
// told about, and starts Raft with no configuration of its own; the leader
// sends it the log, or a snapshot, with the membership in it.
func (s *Server) join(walDir string, rcfg *raft.Config) error {
	if err := checkInitialCluster(&s.cfg); err != nil {
		return err
	}
	peerURLs := s.cfg.PeerURLs
	for _, im := range s.cfg.InitialCluster {
		if im.Name == s.cfg.Name && len(peerURLs) == 0 {
			peerURLs = im.PeerURLs
		}
	}
	clusterID, members, self, err := s.fetchCluster(peerURLs)
	if err != nil {
		return err
	}
	if self.Name != "" && self.Name != s.cfg.Name {
		return fmt.Errorf("cluster: member %s with peer URLs %v already started as %q", self.ID, peerURLs, self.Name)
	}
	s.id, s.clusterID = self.ID, clusterID
	// The membership itself arrives with the log; until then the transport
	// must know whom to answer.
	s.joinPeers = members
	rn, err := s.createLog(walDir, rcfg, walMetadata{MemberID: s.id, ClusterID: s.clusterID, JoinPeers: members})
	if err != nil {
		return err
	}
	s.rn = rn
	s.logger.Info("joining existing cluster", "name", s.cfg.Name, "member-id", s.id.String(), "cluster-id", s.clusterID.String(), "members", len(members))
	return nil
}

func (s *Server) restart(walDir string, rcfg *raft.Config) error {
	// Only a snapshot whose mark the WAL recorded can start a replay; a
	// newer file whose mark never made it (a crash in between) is skipped.
	marks, err := wal.ValidSnapshotMarks(walDir, wal.Options{Logger: s.logger})
	if err != nil {
		return fmt.Errorf("cluster: read wal: %w", err)
	}
	mark, data, err := s.snapshotter.OpenNewestAvailable(marks)
	switch {
	case errors.Is(err, wal.ErrNoSnapshot):
	case err != nil:
		return fmt.Errorf("cluster: load snapshot: %w", err)
	default:
		st, err := decodeSnapshot(data)
		data.Close()
		if err != nil {
			return fmt.Errorf("cluster: snapshot at index %d: %w", mark.Index, err)
		}
		s.restoreState(st)
		// Raft's copy of the snapshot needs no data: a peer that needs the
		// snapshot is sent the file.
		snap := raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: mark.Index, Term: mark.Term, ConfState: st.confState}}
		if err := s.raftStorage.ApplySnapshot(snap); err != nil {
			return fmt.Errorf("cluster: apply snapshot to raft log: %w", err)
		}
		s.lastSnapIndex = mark.Index
		s.lastSnapshotSize.Store(data.Size)
		s.appliedTerm = mark.Term
		s.applied.advance(mark.Index)
	}
	w, err := wal.Open(walDir, mark, s.walOptions())
	if err != nil {
		return fmt.Errorf("cluster: open wal: %w", err)
	}
	s.wal = w
	metaBytes, hs, ents, err := w.ReadAll()
	if err != nil {
		return fmt.Errorf("cluster: read wal: %w", err)
	}
	var meta walMetadata
	if err := json.Unmarshal(metaBytes, &meta); err != nil {
		return fmt.Errorf("cluster: wal metadata: %w", err)
	}
	if mark == (wal.SnapshotMark{}) && len(ents) == 0 && hs.IsZero() {
		return errNeverBootstrapped
	}
	s.id, s.clusterID = meta.MemberID, meta.ClusterID
	s.joinPeers = meta.JoinPeers
	s.warnIfFlagsDescribeAnotherCluster()
	rents := make([]raftpb.Entry, len(ents))
	for i, e := range ents {
		if err := rents[i].Unmarshal(e.Data); err != nil {
			return fmt.Errorf("cluster: wal entry %d: %w", e.Index, err)
		}
		if rents[i].Index != e.Index || rents[i].Term != e.Term {
			return fmt.Errorf("cluster: wal entry %d/%d holds raft entry %d/%d", e.Index, e.Term, rents[i].Index, rents[i].Term)
		}
	}
	s.prevHS = raftpb.HardState{Term: hs.Term, Vote: hs.Vote, Commit: hs.Commit}
	s.replayedTo = hs.Commit
	s.term.Store(hs.Term)
	s.setCommitted(hs.Commit)
	if err := s.raftStorage.SetHardState(raftpb.HardState{Term: hs.Term, Vote: hs.Vote, Commit: hs.Commit}); err != nil {
		return err
	}
	if err := s.raftStorage.Append(rents); err != nil {
		return err
	}
	rcfg.ID = uint64(s.id)
	rcfg.Applied = mark.Index
	rn, err := raft.NewRawNode(rcfg)
	if err != nil {
		return fmt.Errorf("cluster: restart raft: %w", err)
	}
	s.rn = rn
	s.logger.Info("restarted member", "name", s.cfg.Name, "member-id", s.id.String(), "cluster-id", s.clusterID.String(),
		"snapshot-index", mark.Index, "wal-entries", len(ents), "commit-index", hs.Commit)
	return nil
}

func (s *Server) start() {
	s.wg.Add(8)
	go s.runCorruptCheck()
	go s.runCompactor()
	go s.runLeases()
	go s.runRaft()
	go s.runApply()
	go s.runReadIndex()
	go s.publish()
	go s.runV2Sync()
}

// Stop shuts the member down: no new proposals, in-flight ones fail, every
// goroutine exits, the WAL is closed. Everything acknowledged is durable already.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		metricsMember.CompareAndSwap(s, nil)
		close(s.stopping)
		s.transport.Stop()
		s.wg.Wait()
		// A Defragment writes its snapshot on its caller's goroutine:
		// taking the semaphore for good waits for it before the WAL and
		// the data dir lock go.
		s.snapshotSem <- struct{}{}
		s.leaderClient.CloseIdleConnections()
		s.watchers.Stop()
		s.walMu.Lock()
		if err := s.wal.Close(); err != nil {
			s.logger.Warn("closing wal", "error", err)
		}
		s.walMu.Unlock()
		s.lock.Close()
		close(s.done)
	})
}

// ReadyNotify is closed once the member has caught up with its log after a
// start and is ready to serve clients.
func (s *Server) ReadyNotify() <-chan struct{} { return s.readyc }

// Stopping is closed when Stop begins.
func (s *Server) Stopping() <-chan struct{} { return s.stopping }

// Fatal reports an error after which the member cannot go on (the disk failed
// or the log holds an entry this build cannot apply). The caller should exit.
func (s *Server) Fatal() <-chan error { return s.fatal }

func (s *Server) fail(err error) {
	s.logger.Error("member cannot continue", "error", err)
	select {
	case s.fatal <- err:
	default:
	}
}

// ID returns this member's ID.
func (s *Server) ID() MemberID { return s.id }

// ClusterID returns the cluster's ID.
func (s *Server) ClusterID() ClusterID { return s.clusterID }

// Term returns the current Raft term.
func (s *Server) Term() uint64 { return s.term.Load() }

// Leader returns the current leader's ID, 0 when there is none.
func (s *Server) Leader() MemberID { return MemberID(s.leader.Load()) }

// Watchers returns the hub that delivers the keyspace's changes.
func (s *Server) Watchers() *watch.Hub { return s.watchers }

// KV returns the v3 keyspace. Callers read it; only the apply loop writes it.
func (s *Server) KV() *mvcc.Store { return s.kv }

// AppliedIndex returns the index of the last applied entry.
func (s *Server) AppliedIndex() uint64 { return s.applied.current() }

// CommittedIndex returns the last committed index known to this member.
func (s *Server) CommittedIndex() uint64 { return s.commitIndex.Load() }

// Members returns a copy of the membership, ordered by ID.
func (s *Server) Members() []Member {
	s.membersMu.RLock()
	defer s.membersMu.RUnlock()
	out := make([]Member, 0, len(s.members))
	for _, m := range s.members {
		out = append(out, m.Clone())
	}
	slices.SortFunc(out, func(a, b Member) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// publish records this member's name and client URLs in the replicated
// membership, retrying until it lands or the server stops.
func (s *Server) publish() {
	defer s.wg.Done()
	req := &pb.InternalRaftRequest{ClusterMemberAttrSet: newMemberAttrSet(s.id, s.cfg.Name, s.cfg.ClientURLs)}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), s.RequestTimeout())
		_, err := s.Propose(ctx, req)
		cancel()
		if err == nil {
			s.logger.Info("published local member to cluster", "name", s.cfg.Name, "client-urls", s.cfg.ClientURLs)
			close(s.readyc)
			return
		}
		select {
		case <-s.stopping:
			return
		case <-time.After(s.cfg.TickInterval):
		}
		s.logger.Warn("failed to publish local member, retrying", "error", err)
	}
}

// ElectionTimeout is the Raft election timeout.
func (s *Server) ElectionTimeout() time.Duration {
	return time.Duration(s.cfg.ElectionTicks) * s.cfg.TickInterval
}

// RequestTimeout is how long a proposal may wait: etcd's 5 s plus two
// election timeouts.
func (s *Server) RequestTimeout() time.Duration {
	return 5*time.Second + 2*time.Duration(s.cfg.ElectionTicks)*s.cfg.TickInterval
}

func sameURLs(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// walOptions are the options of this member's WAL.
func (s *Server) walOptions() wal.Options {
	return wal.Options{SegmentSize: s.cfg.WALSegmentSize, Logger: s.logger, SlowSync: s.cfg.WarningFsyncDuration}
}

// dataDirs are the directories of a member's data dir, etcd's layout.
type dataDirs struct{ member, wal, snap string }

func memberDirs(dataDir string) dataDirs {
	member := filepath.Join(dataDir, "member")
	return dataDirs{member: member, wal: filepath.Join(member, "wal"), snap: filepath.Join(member, "snap")}
}
