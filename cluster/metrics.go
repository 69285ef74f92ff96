package cluster

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/larchkv/larch/tree/mvcc"
)

// Metrics under etcd's names, so existing dashboards and alerts work.
var (
	hasLeader = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: "etcd", Subsystem: "server", Name: "has_leader",
		Help: "Whether or not a leader exists. 1 is existence, 0 is not.",
	})
	isLeader = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: "etcd", Subsystem: "server", Name: "is_leader",
		Help: "Whether or not this member is a leader. 1 if is, 0 otherwise.",
	})
	leaderChanges = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "etcd", Subsystem: "server", Name: "leader_changes_seen_total",
		Help: "The number of leader changes seen.",
	})
	proposalsApplied = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "etcd", Subsystem: "server", Name: "proposals_applied_total",
		Help: "The total number of consensus proposals applied.",
	})
	proposalsPending = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: "etcd", Subsystem: "server", Name: "proposals_pending",
		Help: "The current number of pending proposals to commit.",
	})
	proposalsFailed = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "etcd", Subsystem: "server", Name: "proposals_failed_total",
		Help: "The total number of failed proposals seen.",
	})
	proposalsCommitted = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: "etcd", Subsystem: "server", Name: "proposals_committed_total",
		Help: "The total number of consensus proposals committed.",
	})
	// backendCommitSeconds times snapshot writes: what etcd's backend
	// commit is to its bbolt file, a snapshot file is to Larch's state.
	backendCommitSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace: "etcd", Subsystem: "disk", Name: "backend_commit_duration_seconds",
		Help:    "The latency distributions of commit called by backend.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	walFsyncSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace: "etcd", Subsystem: "disk", Name: "wal_fsync_duration_seconds",
		Help:    "The latency distributions of fsync called by WAL.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
)

// metricsMember is the member whose state the keyspace gauges read when
// scraped: the one process-wide registry has one member to show (tests
// that run several in a process see the newest).
var metricsMember atomic.Pointer[Server]

// stateCollector reports the keyspace's size and number of keys, which the
// store keeps current, at each scrape.
type stateCollector struct{ size, inUse, keys *prometheus.Desc }

var stateMetrics = stateCollector{
	size: prometheus.NewDesc("etcd_mvcc_db_total_size_in_bytes",
		"Total size of the underlying database physically allocated in bytes.", nil, nil),
	inUse: prometheus.NewDesc("etcd_mvcc_db_total_size_in_use_in_bytes",
		"Total size of the underlying database logically in use in bytes.", nil, nil),
	keys: prometheus.NewDesc("etcd_debugging_mvcc_keys_total",
		"Total number of keys.", nil, nil),
}

func init() { prometheus.MustRegister(stateMetrics) }

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.size
	ch <- c.inUse
	ch <- c.keys
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := metricsMember.Load()
	if s == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(s.DBSize()))
	ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(s.DBSizeInUse()))
	ch <- prometheus.MustNewConstMetric(c.keys, prometheus.GaugeValue, float64(s.KV().LiveKeys()))
}

// DBSizeInUse is the keyspace's size as a snapshot would write it: what
// Status reports as the size in use, never 0 (etcdctl's endpoint status
// table divides by the size).
func (s *Server) DBSizeInUse() int64 { return s.KV().Size() + mvcc.SnapshotFramingBytes }

// DBSize is the largest the keyspace has been since the member started or
// was last defragmented: Status's db size, and what the space quota is
// checked against. Like the size of etcd's database file it does not
// shrink when compaction frees space, only at Defragment, which writes the
// state anew and gives the space back (the older log and snapshots on
// disk, freed memory to the system). Checking the quota against it is what
// makes an operator defragment before disarming NOSPACE, as on etcd.
func (s *Server) DBSize() int64 { return max(s.dbSizeHigh.Load(), s.DBSizeInUse()) }

// noteDBSize raises the high-water mark DBSize reports; the apply loop
// calls it after each batch.
func (s *Server) noteDBSize() {
	inUse := s.DBSizeInUse()
	for {
		high := s.dbSizeHigh.Load()
		if inUse <= high || s.dbSizeHigh.CompareAndSwap(high, inUse) {
			return
		}
	}
}

// setCommitted records the commit index, for reads and the metric.
func (s *Server) setCommitted(index uint64) {
	s.commitIndex.Store(index)
	proposalsCommitted.Set(float64(index))
}
