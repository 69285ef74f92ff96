package cluster

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
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
	walFsyncSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace: "etcd", Subsystem: "disk", Name: "wal_fsync_duration_seconds",
		Help:    "The latency distributions of fsync called by WAL.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
)
