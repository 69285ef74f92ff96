package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/larchkv/larch/auth"
	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/cluster/discovery"
	"github.com/larchkv/larch/pki"
	"github.com/larchkv/larch/v3api"
)

// envPrefix is the prefix of environment variables that set flags:
// LARCH_DATA_DIR sets --data-dir, as ETCD_DATA_DIR does for etcd.
const envPrefix = "LARCH_"

// serverConfig is everything the command line, the environment or a config
// file can set. Its json tags are etcd's config-file keys.
type serverConfig struct {
	Name                     string `json:"name"`
	DataDir                  string `json:"data-dir"`
	ListenClientURLs         string `json:"listen-client-urls"`
	AdvertiseClientURLs      string `json:"advertise-client-urls"`
	ListenPeerURLs           string `json:"listen-peer-urls"`
	InitialAdvertisePeerURLs string `json:"initial-advertise-peer-urls"`
	InitialCluster           string `json:"initial-cluster"`
	InitialClusterState      string `json:"initial-cluster-state"`
	InitialClusterToken      string `json:"initial-cluster-token"`
	HeartbeatInterval        uint   `json:"heartbeat-interval"`
	ElectionTimeout          uint   `json:"election-timeout"`
	SnapshotCount            uint64 `json:"snapshot-count"`
	SnapshotCatchupEntries   uint64 `json:"snapshot-catchup-entries"`
	// ExperimentalSnapshotCatchupEntries is etcd 3.5's name of the same
	// setting, still accepted by etcd 3.6.
	ExperimentalSnapshotCatchupEntries uint64        `json:"experimental-snapshot-catchup-entries"`
	MaxLearners                        int           `json:"max-learners"`
	WatchProgressNotifyInterval        durationValue `json:"watch-progress-notify-interval"`
	// ExperimentalWatchProgressNotifyInterval is etcd 3.5's name of it.
	ExperimentalWatchProgressNotifyInterval durationValue `json:"experimental-watch-progress-notify-interval"`
	StrictReconfigCheck                     bool          `json:"strict-reconfig-check"`
	QuotaBackendBytes                       int64         `json:"quota-backend-bytes"`
	MaxRequestBytes                         uint          `json:"max-request-bytes"`
	MaxTxnOps                               uint          `json:"max-txn-ops"`
	AuthToken                               string        `json:"auth-token"`
	AuthTokenTTL                            uint          `json:"auth-token-ttl"`
	BcryptCost                              uint          `json:"bcrypt-cost"`
	LogLevel                                string        `json:"log-level"`
	LogOutputs                              listValue     `json:"log-outputs"`
	WarningApplyDuration                    durationValue `json:"warning-apply-duration"`
	// Deprecated in etcd 3.6 for warning-apply-duration; still read.
	ExperimentalWarningApplyDuration durationValue `json:"experimental-warning-apply-duration"`
	EnablePprof                      bool          `json:"enable-pprof"`
	AutoCompactionMode               string        `json:"auto-compaction-mode"`
	AutoCompactionRetention          string        `json:"auto-compaction-retention"`
	// ExperimentalInitialCorruptCheck and the corrupt check time keep
	// etcd 3.5's names; 3.6 reads the experimental spelling too.
	ExperimentalInitialCorruptCheck bool          `json:"experimental-initial-corrupt-check"`
	CorruptCheckTime                durationValue `json:"corrupt-check-time"`
	ExperimentalCorruptCheckTime    durationValue `json:"experimental-corrupt-check-time"`
	// EnableV2 is accepted for etcd compatibility and changes nothing:
	// etcd 3.5 serves the v2 API only with --enable-v2, Larch always does.
	EnableV2 bool `json:"enable-v2"`

	// Client and peer TLS, etcd's flags.
	CertFile                string    `json:"cert-file"`
	KeyFile                 string    `json:"key-file"`
	ClientCertAuth          bool      `json:"client-cert-auth"`
	TrustedCAFile           string    `json:"trusted-ca-file"`
	ClientCRLFile           string    `json:"client-crl-file"`
	PeerCertFile            string    `json:"peer-cert-file"`
	PeerKeyFile             string    `json:"peer-key-file"`
	PeerClientCertAuth      bool      `json:"peer-client-cert-auth"`
	PeerTrustedCAFile       string    `json:"peer-trusted-ca-file"`
	PeerCRLFile             string    `json:"peer-crl-file"`
	PeerCertAllowedCN       listValue `json:"peer-cert-allowed-cn"`
	PeerCertAllowedHostname listValue `json:"peer-cert-allowed-hostname"`
	CipherSuites            listValue `json:"cipher-suites"`
	TLSMinVersion           string    `json:"tls-min-version"`
	TLSMaxVersion           string    `json:"tls-max-version"`
	AutoTLS                 bool      `json:"auto-tls"`
	PeerAutoTLS             bool      `json:"peer-auto-tls"`
	PKICADir                string    `json:"pki-ca-dir"`
	// ListenMetricsURLs serve /metrics and /health apart from the client URLs.
	ListenMetricsURLs string `json:"listen-metrics-urls"`
	// Discovery is etcd v2's URL discovery (--discovery).
	Discovery string `json:"discovery"`
	// Discovery-token bootstrap (Larch's own flags).
	DiscoveryToken     string    `json:"discovery-token"`
	DiscoverySize      int       `json:"discovery-size"`
	DiscoveryBindAddr  string    `json:"discovery-bind-addr"`
	DiscoveryAdvertise string    `json:"discovery-advertise-addr"`
	DiscoveryJoin      listValue `json:"discovery-join"`
	DiscoveryTimeout   string    `json:"discovery-timeout"`
	DiscoveryMaxVoters int       `json:"discovery-max-voters"`
	DiscoveryWhenFull  string    `json:"discovery-when-full"`
	// ClientSecurity and PeerSecurity are etcd's config-file sections
	// client-transport-security and peer-transport-security; a config
	// file's sections are folded into the flat fields above.
	ClientSecurity *transportSecurity `json:"client-transport-security"`
	PeerSecurity   *transportSecurity `json:"peer-transport-security"`

	configFile  string
	showVersion bool
	// initialClusterSet records whether --initial-cluster was given; if not,
	// it is derived from --name and --initial-advertise-peer-urls as etcd does.
	initialClusterSet bool
	dataDirSet        bool
}

func defaultConfig() serverConfig {
	return serverConfig{
		Name:                        "default",
		ListenClientURLs:            "http://localhost:2379",
		AdvertiseClientURLs:         "http://localhost:2379",
		ListenPeerURLs:              "http://localhost:2380",
		InitialAdvertisePeerURLs:    "http://localhost:2380",
		InitialCluster:              "default=http://localhost:2380",
		InitialClusterState:         "new",
		InitialClusterToken:         cluster.DefaultClusterToken,
		HeartbeatInterval:           100,
		ElectionTimeout:             1000,
		SnapshotCount:               cluster.DefaultSnapshotCount,
		SnapshotCatchupEntries:      cluster.DefaultCatchUpEntries,
		MaxLearners:                 cluster.DefaultMaxLearners,
		AuthToken:                   "simple",
		AuthTokenTTL:                300,
		BcryptCost:                  uint(auth.DefaultBcryptCost),
		StrictReconfigCheck:         true,
		WatchProgressNotifyInterval: "10m",
		MaxRequestBytes:             cluster.DefaultMaxRequestBytes,
		MaxTxnOps:                   v3api.DefaultMaxTxnOps,
		LogLevel:                    "info",
		LogOutputs:                  "default",
		WarningApplyDuration:        "100ms",
		AutoCompactionMode:          cluster.CompactionPeriodic,
		AutoCompactionRetention:     "0",
		CorruptCheckTime:            "0s",
		DiscoveryBindAddr:           "0.0.0.0:7946",
		DiscoveryTimeout:            "2m",
		DiscoveryMaxVoters:          5,
		DiscoveryWhenFull:           "refuse",
	}
}

func (c *serverConfig) flagSet(out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("larch", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.Name, "name", c.Name, "Human-readable name for this member.")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "Path to the data directory (default \"${name}.larch\").")
	fs.StringVar(&c.ListenClientURLs, "listen-client-urls", c.ListenClientURLs, "List of URLs to listen on for client traffic.")
	fs.StringVar(&c.AdvertiseClientURLs, "advertise-client-urls", c.AdvertiseClientURLs, "List of this member's client URLs to advertise to the public.")
	fs.StringVar(&c.ListenPeerURLs, "listen-peer-urls", c.ListenPeerURLs, "List of URLs to listen on for peer traffic.")
	fs.StringVar(&c.InitialAdvertisePeerURLs, "initial-advertise-peer-urls", c.InitialAdvertisePeerURLs, "List of this member's peer URLs to advertise to the rest of the cluster.")
	fs.StringVar(&c.InitialCluster, "initial-cluster", c.InitialCluster, "Initial cluster configuration for bootstrapping.")
	fs.StringVar(&c.InitialClusterState, "initial-cluster-state", c.InitialClusterState, "Initial cluster state ('new' or 'existing').")
	fs.StringVar(&c.InitialClusterToken, "initial-cluster-token", c.InitialClusterToken, "Initial cluster token for the cluster during bootstrap.")
	fs.UintVar(&c.HeartbeatInterval, "heartbeat-interval", c.HeartbeatInterval, "Time (in milliseconds) of a heartbeat interval.")
	fs.UintVar(&c.ElectionTimeout, "election-timeout", c.ElectionTimeout, "Time (in milliseconds) for an election to timeout.")
	fs.Uint64Var(&c.SnapshotCount, "snapshot-count", c.SnapshotCount, "Number of committed transactions to trigger a snapshot to disk.")
	fs.Uint64Var(&c.SnapshotCatchupEntries, "snapshot-catchup-entries", c.SnapshotCatchupEntries, "Number of entries for a slow follower to catch up after compacting the raft storage entries.")
	fs.Uint64Var(&c.ExperimentalSnapshotCatchupEntries, "experimental-snapshot-catchup-entries", 0, "Deprecated: use --snapshot-catchup-entries.")
	fs.StringVar((*string)(&c.WatchProgressNotifyInterval), "watch-progress-notify-interval", string(c.WatchProgressNotifyInterval), "Duration of periodical watch progress notification.")
	fs.StringVar((*string)(&c.ExperimentalWatchProgressNotifyInterval), "experimental-watch-progress-notify-interval", "", "Deprecated: use --watch-progress-notify-interval.")
	fs.IntVar(&c.MaxLearners, "max-learners", c.MaxLearners, "Set the max number of learner members allowed in the cluster membership.")
	fs.BoolVar(&c.StrictReconfigCheck, "strict-reconfig-check", c.StrictReconfigCheck, "Reject reconfiguration requests that would cause quorum loss.")
	fs.Int64Var(&c.QuotaBackendBytes, "quota-backend-bytes", c.QuotaBackendBytes, "Raise alarms when backend size exceeds the given quota. 0 means use the default quota.")
	fs.UintVar(&c.MaxRequestBytes, "max-request-bytes", c.MaxRequestBytes, "Maximum client request size in bytes the server will accept.")
	fs.UintVar(&c.MaxTxnOps, "max-txn-ops", c.MaxTxnOps, "Maximum number of operations permitted in a transaction.")
	fs.StringVar(&c.AuthToken, "auth-token", c.AuthToken, "Specify auth token specific options.")
	fs.UintVar(&c.AuthTokenTTL, "auth-token-ttl", c.AuthTokenTTL, "The lifetime in seconds of the auth token.")
	fs.UintVar(&c.BcryptCost, "bcrypt-cost", c.BcryptCost, "Specify bcrypt algorithm cost factor for auth password hashing.")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "Configures log level. Only supports debug, info, warn, error, panic, or fatal.")
	fs.StringVar((*string)(&c.LogOutputs), "log-outputs", string(c.LogOutputs), "Specify 'stdout' or 'stderr' to write logs there, or comma-separated file paths ('default' is stderr).")
	fs.StringVar(&c.AutoCompactionMode, "auto-compaction-mode", c.AutoCompactionMode, "interpret 'auto-compaction-retention' one of: periodic|revision. 'periodic' for duration based retention, defaulting to hours if no time unit is provided (e.g. '5m'). 'revision' for revision number based retention.")
	fs.StringVar(&c.AutoCompactionRetention, "auto-compaction-retention", c.AutoCompactionRetention, "Auto compaction retention for mvcc key value store. 0 means disable auto compaction.")
	fs.BoolVar(&c.ExperimentalInitialCorruptCheck, "experimental-initial-corrupt-check", false, "Enable to check data corruption before serving any client/peer traffic.")
	fs.StringVar((*string)(&c.CorruptCheckTime), "corrupt-check-time", string(c.CorruptCheckTime), "Duration of time between cluster corruption check passes.")
	fs.StringVar((*string)(&c.ExperimentalCorruptCheckTime), "experimental-corrupt-check-time", "", "Deprecated: use --corrupt-check-time.")
	fs.StringVar((*string)(&c.WarningApplyDuration), "warning-apply-duration", string(c.WarningApplyDuration), "Time duration after which a warning is generated if request takes more time.")
	fs.StringVar((*string)(&c.ExperimentalWarningApplyDuration), "experimental-warning-apply-duration", "", "Deprecated: use --warning-apply-duration.")
	fs.BoolVar(&c.EnablePprof, "enable-pprof", c.EnablePprof, "Enable runtime profiling data via HTTP server. Address is at client URL + \"/debug/pprof/\"")
	fs.BoolVar(&c.EnableV2, "enable-v2", c.EnableV2, "Accepted for etcd compatibility; Larch always serves the v2 API.")
	fs.StringVar(&c.CertFile, "cert-file", "", "Path to the client server TLS cert file.")
	fs.StringVar(&c.KeyFile, "key-file", "", "Path to the client server TLS key file.")
	fs.BoolVar(&c.ClientCertAuth, "client-cert-auth", false, "Enable client cert authentication.")
	fs.StringVar(&c.TrustedCAFile, "trusted-ca-file", "", "Path to the client server TLS trusted CA cert file.")
	fs.StringVar(&c.ClientCRLFile, "client-crl-file", "", "Path to the client certificate revocation list file.")
	fs.StringVar(&c.PeerCertFile, "peer-cert-file", "", "Path to the peer server TLS cert file.")
	fs.StringVar(&c.PeerKeyFile, "peer-key-file", "", "Path to the peer server TLS key file.")
	fs.BoolVar(&c.PeerClientCertAuth, "peer-client-cert-auth", false, "Enable peer client cert authentication.")
	fs.StringVar(&c.PeerTrustedCAFile, "peer-trusted-ca-file", "", "Path to the peer server TLS trusted CA file.")
	fs.StringVar(&c.PeerCRLFile, "peer-crl-file", "", "Path to the peer certificate revocation list file.")
	fs.StringVar((*string)(&c.PeerCertAllowedCN), "peer-cert-allowed-cn", "", "Comma-separated list of allowed CNs for inter-peer TLS authentication.")
	fs.StringVar((*string)(&c.PeerCertAllowedHostname), "peer-cert-allowed-hostname", "", "Comma-separated list of allowed SAN hostnames for inter-peer TLS authentication.")
	fs.StringVar((*string)(&c.CipherSuites), "cipher-suites", "", "Comma-separated list of supported TLS cipher suites between client/server and peers (empty will be auto-populated by Go).")
	fs.StringVar(&c.TLSMinVersion, "tls-min-version", "TLS1.2", "Minimum TLS version supported by etcd. Possible values: TLS1.2, TLS1.3.")
	fs.BoolVar(&c.AutoTLS, "auto-tls", false, "Client TLS using a certificate the member issues itself from --pki-ca-dir's CA (verified, unlike etcd's self-signed one).")
	fs.BoolVar(&c.PeerAutoTLS, "peer-auto-tls", false, "Peer TLS using a certificate the member issues itself from --pki-ca-dir's CA; members verify each other.")
	fs.StringVar(&c.PKICADir, "pki-ca-dir", "", "Directory of the CA (ca.pem, ca-key.pem from `larchctl pki ca init`) auto TLS issues from; empty makes one in the data dir.")
	fs.StringVar(&c.TLSMaxVersion, "tls-max-version", "", "Maximum TLS version supported by etcd. Possible values: TLS1.2, TLS1.3 (empty defers to Go).")
	fs.StringVar(&c.ListenMetricsURLs, "listen-metrics-urls", "", "List of URLs to listen on for the /metrics and /health endpoints.")
	fs.StringVar(&c.Discovery, "discovery", "", "Discovery URL used to bootstrap the cluster (etcd v2's protocol, against any v2 keys API).")
	fs.StringVar(&c.DiscoveryToken, "discovery-token", "", "Bootstrap (or join) the cluster of the members started with this token, found by gossip; see `larchctl discovery new`.")
	fs.IntVar(&c.DiscoverySize, "discovery-size", 0, "With --discovery-token: the initial cluster's size.")
	fs.StringVar(&c.DiscoveryBindAddr, "discovery-bind-addr", c.DiscoveryBindAddr, "With --discovery-token: host:port of the gossip (TCP and UDP).")
	fs.StringVar(&c.DiscoveryAdvertise, "discovery-advertise-addr", "", "With --discovery-token: host:port other members reach the gossip at (default: --discovery-bind-addr, or the peer URL's IP with its port).")
	fs.StringVar((*string)(&c.DiscoveryJoin), "discovery-join", "", "With --discovery-token: comma-separated gossip addresses (host:port) of other members to join through.")
	fs.StringVar(&c.DiscoveryTimeout, "discovery-timeout", c.DiscoveryTimeout, "With --discovery-token: how long to wait for the initial cluster to form.")
	fs.IntVar(&c.DiscoveryMaxVoters, "discovery-max-voters", c.DiscoveryMaxVoters, "With --discovery-token: a member joining a running cluster is promoted from learner only while the cluster has fewer voters.")
	fs.StringVar(&c.DiscoveryWhenFull, "discovery-when-full", c.DiscoveryWhenFull, "With --discovery-token: what a member left out of a full initial cluster does: 'refuse' (exit) or 'learner' (join it once it runs).")
	fs.StringVar(&c.configFile, "config-file", "", "Path to the server configuration file. Note that if a configuration file is provided, other command line flags and environment variables will be ignored.")
	fs.BoolVar(&c.showVersion, "version", false, "Print the version and exit.")
	return fs
}

// parseConfig reads flags, then the environment for flags not given, or
// only the config file when --config-file is set, as etcd does. Warnings
// (ignored environment variables) are returned for the caller to log.
func parseConfig(args []string, environ []string, out io.Writer) (serverConfig, []string, error) {
	c := defaultConfig()
	fs := c.flagSet(out)
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	if fs.NArg() > 0 {
		return c, nil, fmt.Errorf("'%s' is not a valid flag", fs.Arg(0))
	}
	if c.showVersion {
		return c, nil, nil
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var warnings []string
	if c.configFile == "" {
		for _, kv := range environ {
			name, value, ok := strings.Cut(kv, "=")
			if !ok || !strings.HasPrefix(name, envPrefix) {
				continue
			}
			flagName := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, envPrefix), "_", "-"))
			switch {
			case fs.Lookup(flagName) == nil:
				warnings = append(warnings, fmt.Sprintf("unrecognized environment variable %s", kv))
			case set[flagName]:
				warnings = append(warnings, fmt.Sprintf("recognized environment variable %s, but unused: shadowed by corresponding flag", name))
			default:
				if err := fs.Set(flagName, value); err != nil {
					return c, nil, fmt.Errorf("invalid value %q for %s: %v", value, name, err)
				}
				set[flagName] = true
			}
		}
	}
	if c.configFile != "" {
		fileCfg, fileWarnings, err := readConfigFile(c.configFile)
		return fileCfg, append(warnings, fileWarnings...), err
	}
	c.initialClusterSet = set["initial-cluster"]
	c.dataDirSet = set["data-dir"]
	return c, warnings, nil
}

// resolved is a validated configuration ready to start a member.
type resolved struct {
	member     cluster.Config
	api        v3api.Config
	listenURLs []*url.URL
	peerURLs   []*url.URL
	// metricsURLs serve /metrics and /health only (--listen-metrics-urls).
	metricsURLs []*url.URL
	logLevel    string
	// initialCorruptCheck compares the keyspace with the peers' before
	// serving clients.
	initialCorruptCheck bool
	// logOutputs is --log-outputs: "default", "stderr", "stdout" or paths.
	logOutputs []string
	// clientTLS and peerTLS are the listeners' TLS, if any of their
	// URLs is https; peer TLS also secures the member's dials.
	clientTLS, peerTLS *pki.TLSInfo
	// autoClient and autoPeer, when set, issue the certificates behind
	// clientTLS and peerTLS (auto TLS); caDir is --pki-ca-dir.
	autoClient, autoPeer *autoTLS
	caDir                string
	// discovery, if set, finds the initial cluster (or the running one)
	// by token; maxVoters is --discovery-max-voters.
	discovery *discovery.Config
	maxVoters int
	// discoveryURL is --discovery: etcd v2's URL discovery.
	discoveryURL string
}

func (c serverConfig) resolve() (resolved, error) {
	var r resolved
	if c.Name == "" {
		return r, errors.New("--name must not be empty")
	}
	dataDir := c.DataDir
	if !c.dataDirSet || dataDir == "" {
		dataDir = c.Name + ".larch"
	}
	listen, err := parseURLs("listen-client-urls", c.ListenClientURLs)
	if err != nil {
		return r, err
	}
	advertise, err := parseURLs("advertise-client-urls", c.AdvertiseClientURLs)
	if err != nil {
		return r, err
	}
	listenPeer, err := parseURLs("listen-peer-urls", c.ListenPeerURLs)
	if err != nil {
		return r, err
	}
	peer, err := parseURLs("initial-advertise-peer-urls", c.InitialAdvertisePeerURLs)
	if err != nil {
		return r, err
	}
	initialCluster := c.InitialCluster
	if !c.initialClusterSet {
		var parts []string
		for _, u := range peer {
			parts = append(parts, c.Name+"="+u.String())
		}
		initialCluster = strings.Join(parts, ",")
	}
	members, err := parseInitialCluster(initialCluster)
	if err != nil {
		return r, err
	}
	if c.InitialClusterState != "new" && c.InitialClusterState != "existing" {
		return r, fmt.Errorf("invalid value %q for --initial-cluster-state: valid values are \"new\" or \"existing\"", c.InitialClusterState)
	}
	if c.HeartbeatInterval == 0 {
		return r, errors.New("--heartbeat-interval must be greater than 0")
	}
	if 5*c.HeartbeatInterval > c.ElectionTimeout {
		return r, fmt.Errorf("--election-timeout[%vms] should be at least as 5 times as --heartbeat-interval[%vms]", c.ElectionTimeout, c.HeartbeatInterval)
	}
	if c.ElectionTimeout > 50000 {
		return r, fmt.Errorf("--election-timeout[%vms] is too long, and should be set less than 50000ms", c.ElectionTimeout)
	}
	if c.MaxRequestBytes == 0 || c.MaxRequestBytes > 1<<30 {
		return r, fmt.Errorf("--max-request-bytes must be between 1 and %d (%d)", 1<<30, c.MaxRequestBytes)
	}
	if c.MaxTxnOps == 0 || c.MaxTxnOps > 1<<20 {
		return r, fmt.Errorf("--max-txn-ops must be between 1 and %d (%d)", 1<<20, c.MaxTxnOps)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return r, err
	}
	warnApply, err := c.WarningApplyDuration.or(c.ExperimentalWarningApplyDuration).parse("warning-apply-duration", true, "100ms")
	if err != nil {
		return r, err
	}
	switch c.AutoCompactionMode {
	case cluster.CompactionPeriodic, cluster.CompactionRevision:
	default:
		return r, fmt.Errorf("unknown auto-compaction-mode %q", c.AutoCompactionMode)
	}
	period, revisions, err := cluster.ParseCompactionRetention(c.AutoCompactionMode, c.AutoCompactionRetention)
	if err != nil {
		return r, err
	}
	corruptCheck, err := c.CorruptCheckTime.or(c.ExperimentalCorruptCheckTime).parse("corrupt-check-time", false, "5m")
	if err != nil {
		return r, err
	}
	r.initialCorruptCheck = c.ExperimentalInitialCorruptCheck
	r.logOutputs = commaList(string(c.LogOutputs))
	if len(r.logOutputs) == 0 {
		return r, errors.New("--log-outputs must name at least one output")
	}
	catchUp := c.SnapshotCatchupEntries
	if c.ExperimentalSnapshotCatchupEntries != 0 {
		catchUp = c.ExperimentalSnapshotCatchupEntries
	}
	if catchUp == 0 {
		return r, errors.New("--snapshot-catchup-entries must be greater than 0")
	}
	progressInterval, err := c.WatchProgressNotifyInterval.or(c.ExperimentalWatchProgressNotifyInterval).parse("watch-progress-notify-interval", true, "10m")
	if err != nil {
		return r, err
	}
	if c.MaxLearners < 1 {
		return r, fmt.Errorf("--max-learners must be at least 1 (%d)", c.MaxLearners)
	}
	r.member = cluster.Config{
		Name:                c.Name,
		DataDir:             dataDir,
		PeerURLs:            urlStrings(peer),
		ClientURLs:          urlStrings(advertise),
		InitialCluster:      members,
		InitialClusterState: c.InitialClusterState,
		InitialClusterToken: c.InitialClusterToken,
		TickInterval:        time.Duration(c.HeartbeatInterval) * time.Millisecond,
		ElectionTicks:       int(c.ElectionTimeout / c.HeartbeatInterval),
		SnapshotCount:       c.SnapshotCount,
		MaxRequestBytes:     int(c.MaxRequestBytes),

		SnapshotCatchUpEntries: catchUp,
		MaxLearners:            c.MaxLearners,
		SkipReconfigChecks:     !c.StrictReconfigCheck,
		AuthToken:              c.AuthToken,
		AuthTokenTTL:           time.Duration(c.AuthTokenTTL) * time.Second,
		BcryptCost:             int(c.BcryptCost),
		WarningApplyDuration:   warnApply,

		AutoCompactionMode:      c.AutoCompactionMode,
		AutoCompactionPeriod:    period,
		AutoCompactionRevisions: revisions,
		CorruptCheckTime:        corruptCheck,
	}
	quota := c.QuotaBackendBytes
	if quota == 0 {
		quota = v3api.DefaultQuotaBackendBytes
	}
	r.api = v3api.Config{MaxTxnOps: int(c.MaxTxnOps), MaxRequestBytes: int(c.MaxRequestBytes), QuotaBackendBytes: quota,
		EnablePprof: c.EnablePprof, WatchProgressNotifyInterval: progressInterval}
	r.listenURLs = listen
	r.peerURLs = listenPeer
	r.logLevel = c.LogLevel
	if c.ListenMetricsURLs != "" {
		if r.metricsURLs, err = parseURLs("listen-metrics-urls", c.ListenMetricsURLs); err != nil {
			return r, err
		}
	}
	if r.discovery, err = c.discoveryConfig(peer, advertise); err != nil {
		return r, err
	}
	r.maxVoters = c.DiscoveryMaxVoters
	if c.Discovery != "" {
		if c.initialClusterSet || c.DiscoveryToken != "" {
			return r, errors.New("multiple discovery or bootstrap flags are set. Choose one of \"initial-cluster\", \"discovery\" or \"discovery-token\"")
		}
		if _, err := url.Parse(c.Discovery); err != nil {
			return r, fmt.Errorf("invalid value %q for --discovery: %v", c.Discovery, err)
		}
		r.discoveryURL = c.Discovery
	}
	if c.AutoTLS && c.CertFile == "" && slices.ContainsFunc(listen, isHTTPS) {
		r.autoClient = &autoTLS{profile: "server", dir: filepath.Join(dataDir, "fixtures", "client"), cn: c.Name, hosts: autoHosts(listen, advertise)}
	}
	if c.PeerAutoTLS && c.PeerCertFile == "" && slices.ContainsFunc(listenPeer, isHTTPS) {
		r.autoPeer = &autoTLS{profile: "peer", dir: filepath.Join(dataDir, "fixtures", "peer"), cn: c.Name, hosts: autoHosts(listenPeer, peer)}
	}
	r.caDir = c.PKICADir
	if r.clientTLS, r.peerTLS, err = c.tlsInfos(listen, listenPeer, r.autoClient != nil, r.autoPeer != nil); err != nil {
		return r, err
	}
	r.api.ClientCertAuth = c.ClientCertAuth
	return r, nil
}

func parseURLs(flagName, s string) ([]*url.URL, error) {
	var out []*url.URL
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		u, err := url.Parse(part)
		if err != nil {
			return nil, fmt.Errorf("invalid value %q for --%s: %v", s, flagName, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, fmt.Errorf("invalid value %q for --%s: URL scheme must be http or https: %s", s, flagName, part)
		}
		if _, port, err := splitHostPort(u.Host); err != nil || port == "" {
			return nil, fmt.Errorf("invalid value %q for --%s: URL address does not have the form \"host:port\": %s", s, flagName, part)
		}
		if u.Path != "" && u.Path != "/" {
			return nil, fmt.Errorf("invalid value %q for --%s: URL must not contain a path: %s", s, flagName, part)
		}
		u.Path = ""
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--%s must not be empty", flagName)
	}
	return out, nil
}

func splitHostPort(hostport string) (string, string, error) {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 {
		return "", "", errors.New("missing port")
	}
	port := hostport[i+1:]
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", "", err
	}
	return strings.Trim(hostport[:i], "[]"), port, nil
}

func urlStrings(us []*url.URL) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.String()
	}
	return out
}

// parseInitialCluster reads "name=url,name=url2,other=url3"; a name may
// repeat to give a member several peer URLs.
func parseInitialCluster(s string) ([]cluster.InitialMember, error) {
	var out []cluster.InitialMember
	index := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, raw, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("invalid value %q for --initial-cluster: %q is not name=url", s, part)
		}
		us, err := parseURLs("initial-cluster", raw)
		if err != nil {
			return nil, err
		}
		if i, ok := index[name]; ok {
			out[i].PeerURLs = append(out[i].PeerURLs, us[0].String())
			continue
		}
		index[name] = len(out)
		out = append(out, cluster.InitialMember{Name: name, PeerURLs: []string{us[0].String()}})
	}
	if len(out) == 0 {
		return nil, errors.New("--initial-cluster must not be empty")
	}
	return out, nil
}

// tlsInfos checks and gathers the TLS flags: https URLs need a
// certificate (etcd's rule), and TLS flags without an https URL change
// nothing.
func (c serverConfig) tlsInfos(listen, listenPeer []*url.URL, autoClient, autoPeer bool) (client, peer *pki.TLSInfo, err error) {
	minV, err := pki.TLSVersion(c.TLSMinVersion)
	if err != nil {
		return nil, nil, err
	}
	maxV, err := pki.TLSVersion(c.TLSMaxVersion)
	if err != nil {
		return nil, nil, err
	}
	if minV != 0 && maxV != 0 && minV > maxV {
		return nil, nil, fmt.Errorf("min version (%s) is greater than max version (%s)", c.TLSMinVersion, c.TLSMaxVersion)
	}
	var suites []uint16
	if names := commaList(string(c.CipherSuites)); len(names) > 0 {
		// Go's TLS 1.3 suites are fixed; etcd refuses rather than ignore the flag.
		if minV == tls.VersionTLS13 {
			return nil, nil, errors.New("cipher suites cannot be configured when only TLS1.3 is enabled")
		}
		if suites, err = pki.CipherSuites(names); err != nil {
			return nil, nil, err
		}
	}
	https := func(us []*url.URL) bool { return slices.ContainsFunc(us, isHTTPS) }
	if https(listen) && autoClient {
		// Auto TLS fills in the certificate; the other flags hold.
		client = &pki.TLSInfo{ClientCertAuth: c.ClientCertAuth, CRLFile: c.ClientCRLFile, CipherSuites: suites, MinVersion: minV, MaxVersion: maxV}
	}
	if https(listen) && !autoClient {
		if c.CertFile == "" || c.KeyFile == "" {
			return nil, nil, errors.New("TLS key/cert (--cert-file, --key-file) must be provided for client url with HTTPS scheme")
		}
		client = &pki.TLSInfo{CertFile: c.CertFile, KeyFile: c.KeyFile, TrustedCAFile: c.TrustedCAFile,
			ClientCertAuth: c.ClientCertAuth, CRLFile: c.ClientCRLFile, CipherSuites: suites, MinVersion: minV, MaxVersion: maxV}
	}
	if autoPeer {
		// Members verify each other, and only peer certificates (server
		// and client usage) get onto the peer port, not users' client
		// certificates from the same CA.
		peer = &pki.TLSInfo{ClientCertAuth: true, RequirePeerUsage: true, CRLFile: c.PeerCRLFile,
			AllowedCNs: commaList(string(c.PeerCertAllowedCN)), AllowedHostnames: commaList(string(c.PeerCertAllowedHostname)), CipherSuites: suites, MinVersion: minV, MaxVersion: maxV}
	}
	if (https(listenPeer) || (c.PeerCertFile != "" && c.PeerKeyFile != "")) && !autoPeer {
		if c.PeerCertFile == "" || c.PeerKeyFile == "" {
			return nil, nil, errors.New("TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer url with HTTPS scheme")
		}
		peer = &pki.TLSInfo{CertFile: c.PeerCertFile, KeyFile: c.PeerKeyFile, TrustedCAFile: c.PeerTrustedCAFile,
			ClientCertAuth: c.PeerClientCertAuth, CRLFile: c.PeerCRLFile, AllowedCNs: commaList(string(c.PeerCertAllowedCN)),
			AllowedHostnames: commaList(string(c.PeerCertAllowedHostname)), CipherSuites: suites, MinVersion: minV, MaxVersion: maxV}
	}
	return client, peer, nil
}

func isHTTPS(u *url.URL) bool { return u.Scheme == "https" }

// commaList splits a comma-separated flag value, dropping empty items.
func commaList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// discoveryConfig checks the --discovery-* flags; nil without a token.
func (c serverConfig) discoveryConfig(peer, advertise []*url.URL) (*discovery.Config, error) {
	if c.DiscoveryToken == "" {
		if c.DiscoverySize != 0 || c.DiscoveryJoin != "" {
			return nil, errors.New("--discovery-size and --discovery-join need --discovery-token")
		}
		return nil, nil
	}
	if c.initialClusterSet {
		return nil, errors.New("multiple discovery or bootstrap flags are set. Choose one of \"initial-cluster\", \"discovery\" or \"discovery-token\"")
	}
	if c.InitialClusterState != "new" {
		return nil, errors.New("--discovery-token bootstraps a new cluster or joins a running one by itself; leave --initial-cluster-state at \"new\"")
	}
	size := c.DiscoverySize
	switch fromToken := discovery.TokenSize(c.DiscoveryToken); {
	case size == 0:
		size = fromToken
	case fromToken != 0 && fromToken != size:
		return nil, fmt.Errorf("--discovery-size %d disagrees with the size the token carries (%d)", size, fromToken)
	}
	if size < 1 {
		return nil, fmt.Errorf("--discovery-size must be at least 1 with --discovery-token (%d); or make a token that carries it with `larchctl discovery new --size N`", c.DiscoverySize)
	}
	if c.DiscoveryMaxVoters < 1 {
		return nil, fmt.Errorf("--discovery-max-voters must be at least 1 (%d)", c.DiscoveryMaxVoters)
	}
	if c.DiscoveryWhenFull != "refuse" && c.DiscoveryWhenFull != "learner" {
		return nil, fmt.Errorf("invalid value %q for --discovery-when-full: valid values are \"refuse\" or \"learner\"", c.DiscoveryWhenFull)
	}
	timeout, err := time.ParseDuration(c.DiscoveryTimeout)
	if err != nil || timeout <= 0 {
		return nil, fmt.Errorf("invalid value %q for --discovery-timeout: a positive duration such as 2m", c.DiscoveryTimeout)
	}
	d := &discovery.Config{Token: c.DiscoveryToken, Size: size, BindAddr: c.DiscoveryBindAddr, Timeout: timeout, JoinWhenFull: c.DiscoveryWhenFull == "learner",
		Name: c.Name, PeerURLs: urlStrings(peer), ClientURLs: urlStrings(advertise)}
	host, port, err := net.SplitHostPort(c.DiscoveryBindAddr)
	if err != nil {
		return nil, fmt.Errorf("invalid value %q for --discovery-bind-addr: %v", c.DiscoveryBindAddr, err)
	}
	// Bound to every interface, the gossip is advertised at the peer
	// URL's address when that is an IP: memberlist's own guess needs a
	// private address, which a laptop or a container may lack.
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if pip := net.ParseIP(peer[0].Hostname()); pip != nil {
			d.AdvertiseAddr = net.JoinHostPort(pip.String(), port)
		}
	}
	if c.DiscoveryAdvertise != "" {
		h, _, err := net.SplitHostPort(c.DiscoveryAdvertise)
		if err != nil || net.ParseIP(h) == nil {
			return nil, fmt.Errorf("invalid value %q for --discovery-advertise-addr: want IP:port", c.DiscoveryAdvertise)
		}
		d.AdvertiseAddr = c.DiscoveryAdvertise
	}
	for _, seed := range commaList(string(c.DiscoveryJoin)) {
		if _, _, err := net.SplitHostPort(seed); err != nil {
			return nil, fmt.Errorf("invalid value %q for --discovery-join: %v", seed, err)
		}
		d.Join = append(d.Join, seed)
	}
	return d, nil
}
