package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestListenMetricsURLs: --listen-metrics-urls serves /metrics and
// /health, as etcd's does, and not the client API.
func TestListenMetricsURLs(t *testing.T) {
	metrics := freeAddr(t)
	p := newProcess(t, "--listen-metrics-urls", "http://"+metrics)
	p.start()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + metrics + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "\netcd_server_has_leader 1\n") || !strings.Contains(body, "grpc_server_handled_total") {
		t.Fatalf("/metrics: %d\n%.300s", code, body)
	}
	if code, body := get("/health"); code != 200 || body != `{"health":"true","reason":""}` {
		t.Fatalf("/health: %d %s", code, body)
	}
	if code, _ := get("/v2/keys/"); code != http.StatusNotFound {
		t.Fatalf("/v2/keys on the metrics URL: %d", code)
	}
}
