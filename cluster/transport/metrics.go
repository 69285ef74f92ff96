package transport

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Peer metrics under etcd's names and labels.
var (
	peerSentBytes = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "etcd", Subsystem: "network", Name: "peer_sent_bytes_total",
		Help: "The total number of bytes sent to peers.",
	}, []string{"To"})
	peerReceivedBytes = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "etcd", Subsystem: "network", Name: "peer_received_bytes_total",
		Help: "The total number of bytes received from peers.",
	}, []string{"From"})
	peerRoundTripSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "etcd", Subsystem: "network", Name: "peer_round_trip_time_seconds",
		Help:    "Round-Trip-Time histogram between peers",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	}, []string{"To"})
)

const (
	probingPath = "/raft/probing"
	// probeInterval is how often a peer's round trip is measured.
	probeInterval = 5 * time.Second
)

func serveProbe(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"OK":true}`)
}

// probe measures the round trip to the peer, for the metric, until the
// peer stops: a GET of its probing path on the snapshot client, at once
// and then every probeInterval.
func (p *peer) probe() {
	defer p.wg.Done()
	rtt := peerRoundTripSeconds.WithLabelValues(fmt.Sprintf("%x", p.id))
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		if u := p.url(); u != "" {
			p.probeOnce(u, rtt)
		}
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *peer) probeOnce(u string, rtt prometheus.Observer) {
	ctx, cancel := context.WithTimeout(p.ctx, probeInterval)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+probingPath, nil)
	if err != nil {
		return
	}
	start := time.Now()
	resp, err := p.t.client.Do(req)
	if err != nil {
		return
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		rtt.Observe(time.Since(start).Seconds())
	}
}
