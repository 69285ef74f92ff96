package clustertest

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/larchkv/larch/cluster"
)

// scrape reads a member's /metrics.
func scrape(t *testing.T, m *Member) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(m.ClientURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// value is a family's value: a gauge's or a counter's, a histogram's count,
// summed over the series whose labels include match.
func value(families map[string]*dto.MetricFamily, name string, match ...string) (float64, bool) {
	f, ok := families[name]
	if !ok {
		return 0, false
	}
	var sum float64
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		if len(match) == 2 && labels[match[0]] != match[1] {
			continue
		}
		switch {
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum, true
}

// TestMetrics: after traffic, /metrics carries etcd's metric names with
// values that agree with the cluster: a leader, commits and applies, WAL
// fsyncs and a snapshot write timed, the number of keys, peer traffic and
// gRPC calls by method.
func TestMetrics(t *testing.T) {
	c := New(t, Config{Size: 3, Tune: func(cfg *cluster.Config) { cfg.SnapshotCount = 10 }})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli := c.Client()
	const keys = 25
	for i := range keys + 1 {
		if _, err := cli.Put(ctx, fmt.Sprintf("metrics/%02d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Delete(ctx, fmt.Sprintf("metrics/%02d", keys)); err != nil {
		t.Fatal(err)
	}
	// The keyspace gauges read the member started last, which of the three
	// that is depends on their start: wait until all have applied what the
	// leader has (there is no event to wait on).
	leader := c.WaitLeader()
	deadline := time.Now().Add(10 * time.Second)
	for _, m := range c.Members() {
		for m.Server().AppliedIndex() < leader.Server().AppliedIndex() {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not catch up", m.Name)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	newest := c.Members()[2]
	f := scrape(t, newest)
	for _, tc := range []struct {
		name  string
		match []string
		ok    func(v float64) bool
		want  string
	}{
		{"etcd_server_has_leader", nil, func(v float64) bool { return v == 1 }, "1"},
		{"etcd_server_is_leader", nil, func(v float64) bool { return v == 0 || v == 1 }, "0 or 1"},
		{"etcd_server_leader_changes_seen_total", nil, func(v float64) bool { return v >= 1 }, ">= 1"},
		{"etcd_server_proposals_committed_total", nil, func(v float64) bool { return v >= keys }, fmt.Sprintf(">= %d", keys)},
		{"etcd_server_proposals_applied_total", nil, func(v float64) bool { return v >= keys }, fmt.Sprintf(">= %d", keys)},
		{"etcd_server_proposals_pending", nil, func(v float64) bool { return v >= 0 }, ">= 0"},
		{"etcd_server_proposals_failed_total", nil, func(v float64) bool { return v >= 0 }, ">= 0"},
		{"etcd_disk_wal_fsync_duration_seconds", nil, func(v float64) bool { return v > 0 }, "> 0 fsyncs"},
		{"etcd_disk_backend_commit_duration_seconds", nil, func(v float64) bool { return v > 0 }, "> 0 snapshot writes"},
		{"etcd_mvcc_db_total_size_in_bytes", nil, func(v float64) bool { return v > 0 }, "> 0"},
		{"etcd_mvcc_db_total_size_in_use_in_bytes", nil, func(v float64) bool { return v > 0 }, "> 0"},
		{"etcd_debugging_mvcc_keys_total", nil, func(v float64) bool { return v == keys }, fmt.Sprint(keys)},
		{"etcd_network_peer_sent_bytes_total", nil, func(v float64) bool { return v > 0 }, "> 0"},
		{"etcd_network_peer_received_bytes_total", nil, func(v float64) bool { return v > 0 }, "> 0"},
		{"etcd_network_peer_round_trip_time_seconds", []string{"To", leader.ID().String()}, func(v float64) bool { return v >= 0 }, "a series to the leader"},
		{"grpc_server_handled_total", []string{"grpc_method", "Put"}, func(v float64) bool { return v >= keys }, fmt.Sprintf(">= %d Puts", keys)},
		{"grpc_server_started_total", []string{"grpc_method", "DeleteRange"}, func(v float64) bool { return v >= 1 }, ">= 1"},
	} {
		v, ok := value(f, tc.name, tc.match...)
		if !ok || !tc.ok(v) {
			t.Errorf("%s%v = %v (present %v), want %s", tc.name, tc.match, v, ok, tc.want)
		}
	}
}
