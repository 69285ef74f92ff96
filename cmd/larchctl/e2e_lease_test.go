package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestE2ELease runs testdata/larchctl/e2e/lease.script against one server, as TestE2EV3
// does (its golden is made the same way, with -run TestE2ELease): the lease commands, put
// with leases, and lock and elect, which run until a signal, or until they are killed
// (see runLive).
func TestE2ELease(t *testing.T) {
	runE2E(t, "lease", nil)
}

// learnLeases names the leases the server lists that the run has not met yet, in
// ascending order, which is the order both etcd and Larch grant them in; and the leases
// whose grant a step printed, for those it revoked again. The n-th lease is <LEASE_n> in
// the goldens and ${LEASE_n}, in hex, in the scripts.
func (cl *cluster) learnLeases(t *testing.T, r result, vars map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cl.cli.Leases(ctx)
	if err != nil {
		t.Fatalf("listing the leases: %v", err)
	}
	var ids []int64
	for _, l := range resp.Leases {
		ids = append(ids, int64(l.ID))
	}
	for _, m := range reGranted.FindAllSubmatch(r.stdout, -1) {
		if id, err := strconv.ParseInt(string(m[1]), 16, 64); err == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if !slices.Contains(cl.leases, id) {
			cl.leases = append(cl.leases, id)
			vars[fmt.Sprintf("${LEASE_%d}", len(cl.leases))] = fmt.Sprintf("%016x", id)
			vars["${LEASE_LAST}"] = fmt.Sprintf("%016x", id)
		}
	}
}

var (
	reGranted = regexp.MustCompile(`lease ([0-9a-f]{16}) granted`)
	// JSON byte fields, whose lock and election keys hold lease IDs.
	reJSONBytes = regexp.MustCompile(`"(key|value)":"([A-Za-z0-9+/]*={0,2})"`)
)

// normalizeLeases replaces the IDs of the leases the run has met: in hex (padded, as
// etcdctl prints them, or not, as lock and election keys hold them) and in decimal. A
// base64 JSON field that holds one is shown decoded: "key":"b64(lock/<LEASE_3>)".
func (cl *cluster) normalizeLeases(b []byte) []byte {
	if len(cl.leases) == 0 {
		return b
	}
	b = reJSONBytes.ReplaceAllFunc(b, func(m []byte) []byte {
		sub := reJSONBytes.FindSubmatch(m)
		dec, err := base64.StdEncoding.DecodeString(string(sub[2]))
		if err != nil {
			return m
		}
		if norm := cl.replaceLeaseIDs(dec); !bytes.Equal(norm, dec) {
			return fmt.Appendf(nil, `"%s":"b64(%s)"`, sub[1], norm)
		}
		return m
	})
	return cl.replaceLeaseIDs(b)
}

func (cl *cluster) replaceLeaseIDs(b []byte) []byte {
	for i, id := range cl.leases {
		name := fmt.Appendf(nil, "<LEASE_%d>", i+1)
		for _, form := range []string{fmt.Sprintf("%016x", id), fmt.Sprintf("%x", id), strconv.FormatInt(id, 10)} {
			re := regexp.MustCompile(`\b` + form + `\b`)
			b = re.ReplaceAllLiteral(b, name)
		}
	}
	return b
}

// The remaining TTL of a lease ticks down while a script runs: timetolive shows it in
// every format as <TTL> when it is positive.
var reRemaining = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`remaining\([1-9]\d*s\)`), `remaining(<TTL>s)`},
	{regexp.MustCompile(`"ttl":[1-9]\d*`), `"ttl":<TTL>`},
	{regexp.MustCompile(`"TTL" : [1-9]\d*`), `"TTL" : <TTL>`},
	{regexp.MustCompile(`(<LEASE_\d+>) [1-9]\d* (\d+ \[)`), `$1 <TTL> $2`}, // protobuf's error: %v of the response
}

func normalizeRemaining(s step, b []byte) []byte {
	if !slices.Contains(s.args, "timetolive") {
		return b
	}
	for _, r := range reRemaining {
		b = r.re.ReplaceAll(b, []byte(r.repl))
	}
	return b
}

// replaceDurations replaces durations with <DURATION>, but for lease TTLs, which etcdctl
// prints as "TTL(60s)" and "remaining(59s)".
func replaceDurations(b []byte) []byte {
	var out []byte
	last := 0
	for _, m := range reDuration.FindAllIndex(b, -1) {
		if bytes.HasSuffix(b[:m[0]], []byte("TTL(")) || bytes.HasSuffix(b[:m[0]], []byte("remaining(")) {
			continue
		}
		out = append(out, b[last:m[0]]...)
		out = append(out, "<DURATION>"...)
		last = m[1]
	}
	return append(out, b[last:]...)
}
