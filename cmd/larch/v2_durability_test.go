package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// v2Put sets key=value (with ttl seconds if > 0) through the v2 HTTP API.
func v2Put(ctx context.Context, client, key, value string, ttl int) error {
	form := url.Values{"value": {value}}
	if ttl > 0 {
		form.Set("ttl", fmt.Sprint(ttl))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+client+"/v2/keys/"+key, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("PUT %s: %s", key, resp.Status)
	}
	return nil
}

type v2Response struct {
	Action string
	Node   struct {
		Value         string
		ModifiedIndex uint64
	}
}

// v2Get GETs key with query; ok is false when the key does not exist.
func v2Get(t *testing.T, client, key, query string) (v2Response, bool) {
	t.Helper()
	resp, err := http.Get("http://" + client + "/v2/keys/" + key + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body v2Response
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body, resp.StatusCode != http.StatusNotFound
}

// TestV2KillAndRestart: acknowledged v2 writes survive SIGKILL, and a TTL
// key set before the kill still expires after the restart.
func TestV2KillAndRestart(t *testing.T) {
	p := newProcess(t, "--snapshot-count", "50")
	p.start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Long enough to outlive the kill and the restart, so that the expiry
	// happens on the restarted member.
	if err := v2Put(ctx, p.client, "ttl", "gone-soon", 8); err != nil {
		t.Fatal(err)
	}
	acked := putUntilKilled(t, p, 200, "v2w", func(ctx context.Context, key, val string) error {
		return v2Put(ctx, p.client, key, val, 0)
	})
	p.start()
	for k, v := range acked {
		if got, ok := v2Get(t, p.client, k, ""); !ok || got.Node.Value != v {
			t.Fatalf("acknowledged %s=%s is %q (exists %v) after restart", k, v, got.Node.Value, ok)
		}
	}
	// The TTL key expires on the restarted member: a long poll from just
	// after its last change returns its expire event, from the history if
	// it has already happened.
	got, ok := v2Get(t, p.client, "ttl", "")
	if !ok {
		t.Fatal("the TTL key was lost in the restart, or the restart took longer than its TTL")
	}
	ev, _ := v2Get(t, p.client, "ttl", fmt.Sprintf("?wait=true&waitIndex=%d", got.Node.ModifiedIndex+1))
	if ev.Action != "expire" {
		t.Fatalf("waited on the TTL key and got %q", ev.Action)
	}
	if _, ok := v2Get(t, p.client, "ttl", ""); ok {
		t.Fatal("the TTL key outlived its TTL across the restart")
	}
}
