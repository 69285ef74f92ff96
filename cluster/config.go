package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/larchkv/larch/auth"
	"github.com/larchkv/larch/auth/token"
	"github.com/larchkv/larch/cluster/wal"
)

// InitialMember is one entry of --initial-cluster: a name and its peer URLs.
type InitialMember struct {
	Name     string
	PeerURLs []string
}

// Config is what a member needs to start. Zero fields take the defaults of
// etcd's flags; validate fills them and refuses what cannot work.
type Config struct {
	// Name is this member's human-readable name (--name).
	Name string
	// DataDir holds the WAL and snapshots (--data-dir).
	DataDir string
	// PeerURLs are this member's advertised peer URLs (--initial-advertise-peer-urls).
	PeerURLs []string
	// ClientURLs are this member's advertised client URLs (--advertise-client-urls).
	ClientURLs []string
	// InitialCluster lists the members of a new cluster (--initial-cluster).
	InitialCluster []InitialMember
	// InitialClusterState is "new" or "existing" (--initial-cluster-state).
	InitialClusterState string
	// InitialClusterToken seeds member and cluster IDs (--initial-cluster-token).
	InitialClusterToken string
	// TickInterval is the Raft heartbeat interval (--heartbeat-interval).
	TickInterval time.Duration
	// ElectionTicks is the election timeout in ticks (--election-timeout / --heartbeat-interval).
	ElectionTicks int
	// SnapshotCount is how many applied entries trigger a snapshot (--snapshot-count).
	SnapshotCount uint64
	// SnapshotCatchUpEntries is how many entries stay in the in-memory Raft
	// log after a snapshot, so a slightly lagging follower is sent entries
	// rather than a whole snapshot (--experimental-snapshot-catchup-entries).
	SnapshotCatchUpEntries uint64
	// MaxRequestBytes bounds the size of one proposal (--max-request-bytes).
	MaxRequestBytes int
	// WALSegmentSize is the size at which WAL segments roll over; 0 takes the WAL's default.
	WALSegmentSize int64
	// PeerListeners are served for the other members (the listeners of
	// --listen-peer-urls); the member closes them when it stops.
	PeerListeners []net.Listener
	// PeerDial opens connections to members whose peer URLs are http://;
	// nil means plain TCP.
	PeerDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// PeerDialTLS opens connections to members whose peer URLs are
	// https://, with the peer certificate; nil means this member has no
	// peer TLS and such members cannot be reached. The scheme chooses, as
	// in etcd: peer certificates alone do not make http:// peers TLS.
	PeerDialTLS func(ctx context.Context, network, addr string) (net.Conn, error)
	// JoinKey, if set, lets members that hold it be added as learners
	// through this member's peer port (discovery's JoinKey of the token
	// this member was started with); nil refuses such requests.
	JoinKey []byte
	// MaxLearners is how many learners the cluster may have (etcd's
	// --max-learners, default 1).
	MaxLearners int
	// AuthToken is --auth-token: "simple" (the default) or
	// "jwt,pub-key=FILE,priv-key=FILE,sign-method=RS256[,ttl=5m]".
	AuthToken string
	// AuthTokenTTL is how long a simple token lives unused (--auth-token-ttl).
	AuthTokenTTL time.Duration
	// BcryptCost is the cost passwords are hashed at (--bcrypt-cost).
	BcryptCost int
	// AuthClock, if set, is the clock tokens expire by (tests move it);
	// time.Now otherwise.
	AuthClock func() time.Time

	// LeaseCheckpointInterval is how often the leader records the time
	// left on the leases (etcd's 5 minutes).
	LeaseCheckpointInterval time.Duration
	// SkipReconfigChecks turns off the checks that refuse membership
	// changes which could cost the quorum (--strict-reconfig-check=false).
	SkipReconfigChecks bool
	// HealthInterval is how long a peer must have been connected before
	// this member counts it when judging a membership change safe
	// (etcd's 5 s).
	HealthInterval time.Duration
	// WarningApplyDuration is how long applying one request may take
	// before it is logged as slow (--warning-apply-duration; etcd's 100 ms).
	WarningApplyDuration time.Duration
	// WarningFsyncDuration is how long one WAL fdatasync may take before
	// it is logged as slow (etcd's fixed 1 s).
	WarningFsyncDuration time.Duration
	// AutoCompactionMode is CompactionPeriodic, CompactionRevision or ""
	// (none); AutoCompactionPeriod (periodic) or AutoCompactionRevisions
	// (revision) is the history kept, 0 for none (see
	// ParseCompactionRetention). AutoCompactionCheck is how often revision
	// mode looks (DefaultRevisionCompactionCheck).
	AutoCompactionMode      string
	AutoCompactionPeriod    time.Duration
	AutoCompactionRevisions int64
	AutoCompactionCheck     time.Duration
	// CorruptCheckTime is how often the leader compares its keyspace hash
	// with its followers' (--experimental-corrupt-check-time); 0 never.
	CorruptCheckTime time.Duration
	// DropPeerMessage, if set, is asked about each message to a peer; true
	// loses it as a network partition would. Fault injection for tests.
	DropPeerMessage func(to MemberID) bool
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
}

// Defaults of etcd's flags.
const (
	DefaultTickInterval    = 100 * time.Millisecond
	DefaultElectionTicks   = 10
	DefaultSnapshotCount   = 10000
	DefaultCatchUpEntries  = 5000
	DefaultMaxRequestBytes = 1536 * 1024
	DefaultClusterToken    = "etcd-cluster"
	DefaultMaxLearners     = 1
	DefaultHealthInterval  = 5 * time.Second

	DefaultLeaseCheckpointInterval = 5 * time.Minute
)

func (c *Config) validate() error {
	if c.Name == "" {
		return errors.New("cluster: member name is empty")
	}
	if c.DataDir == "" {
		return errors.New("cluster: data dir is empty")
	}
	if c.TickInterval == 0 {
		c.TickInterval = DefaultTickInterval
	}
	if c.ElectionTicks == 0 {
		c.ElectionTicks = DefaultElectionTicks
	}
	if c.TickInterval < 0 || c.ElectionTicks <= 1 {
		return fmt.Errorf("cluster: election timeout must be more than one heartbeat (ticks %d)", c.ElectionTicks)
	}
	if c.SnapshotCount == 0 {
		c.SnapshotCount = DefaultSnapshotCount
	}
	if c.SnapshotCatchUpEntries == 0 {
		c.SnapshotCatchUpEntries = DefaultCatchUpEntries
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.MaxRequestBytes < 0 {
		return fmt.Errorf("cluster: max request bytes %d is negative", c.MaxRequestBytes)
	}
	if c.InitialClusterToken == "" {
		c.InitialClusterToken = DefaultClusterToken
	}
	switch c.InitialClusterState {
	case "":
		c.InitialClusterState = "new"
	case "new", "existing":
	default:
		return fmt.Errorf("cluster: initial cluster state %q is neither \"new\" nor \"existing\"", c.InitialClusterState)
	}
	if c.MaxLearners == 0 {
		c.MaxLearners = DefaultMaxLearners
	}
	if c.LeaseCheckpointInterval == 0 {
		c.LeaseCheckpointInterval = DefaultLeaseCheckpointInterval
	}
	if c.AuthToken == "" {
		c.AuthToken = "simple"
	}
	if c.AuthTokenTTL == 0 {
		c.AuthTokenTTL = token.DefaultTTL
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = auth.DefaultBcryptCost
	}
	if c.AuthClock == nil {
		c.AuthClock = time.Now
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = DefaultHealthInterval
	}
	if c.WarningApplyDuration == 0 {
		c.WarningApplyDuration = DefaultWarningApplyDuration
	}
	if c.WarningFsyncDuration == 0 {
		c.WarningFsyncDuration = wal.DefaultSlowSync
	}
	if c.AutoCompactionCheck == 0 {
		c.AutoCompactionCheck = DefaultRevisionCompactionCheck
	}
	switch c.AutoCompactionMode {
	case "", CompactionPeriodic, CompactionRevision:
	default:
		return fmt.Errorf("cluster: unknown auto-compaction mode %q (periodic or revision)", c.AutoCompactionMode)
	}
	c.fillPeerDial()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// fillPeerDial gives the peer dialers their defaults: plain TCP, and no
// TLS (dialing an https peer fails with ErrNoPeerTLS).
func (c *Config) fillPeerDial() {
	if c.PeerDial == nil {
		c.PeerDial = (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	if c.PeerDialTLS == nil {
		c.PeerDialTLS = func(context.Context, string, string) (net.Conn, error) {
			return nil, ErrNoPeerTLS
		}
	}
}
