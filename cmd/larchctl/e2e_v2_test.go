package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/larchkv/larch/cmd/larchctl/internal/golden"
)

// TestE2EV2 runs testdata/larchctl/v2/e2e.script with ETCDCTL_API=2 against a server
// that speaks the v2 API, and compares each command's normalised stdout, stderr and exit
// code with testdata/larchctl/v2/e2e.golden.
//
// The golden encodes etcd's behaviour: it was made with etcd 3.5.21 (v2 enabled) and
// etcdctl 3.5.21:
//
//	LARCH_E2E_SERVER=/path/to/etcd LARCH_E2E_SERVER_ARGS=--enable-v2 \
//	    LARCH_E2E_CTL=/path/to/etcdctl go test ./cmd/larchctl -run TestE2EV2 -update
//
// LARCH_E2E_SERVER_ARGS adds arguments to the server's command line (etcd 3.5 needs
// --enable-v2). The test skips while the server answers 404 on /v2/keys, which is the
// case for Larch until it serves the v2 API.
func TestE2EV2(t *testing.T) { runE2EV2(t, "e2e") }

// runE2EV2 runs testdata/larchctl/v2/<name>.script as TestE2EV2 describes and compares
// its output with <name>.golden.
func runE2EV2(t *testing.T, name string) {
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
	server, ctl := e2eBinaries(t)
	if extra := strings.Fields(os.Getenv("LARCH_E2E_SERVER_ARGS")); len(extra) > 0 {
		server = wrapServer(t, server, extra)
	}
	cl := startCluster(t, server)
	base, err := v2Index(cl.clientAddr)
	if err != nil {
		t.Skipf("e2e v2: the server does not serve the v2 API yet: %v", err)
	}

	dir := filepath.Join("..", "..", "testdata", "larchctl", "v2")
	steps, err := parseScript(filepath.Join(dir, name+".script"))
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"ETCDCTL_API=2",
		"ETCDCTL_ENDPOINTS=http://" + cl.clientAddr,
	}
	// ${CLIENT} and ${PEER} are the client and peer addresses, ${MEMBER} the member's
	// hex ID; ${I+k} is the store index k writes after the script starts, for
	// --after-index and --swap-with-index.
	vars := map[string]string{
		"${CLIENT}": cl.clientAddr,
		"${PEER}":   "127.0.0.1:" + cl.peerPort,
		"${MEMBER}": strconv.FormatUint(cl.memberID, 16),
	}
	for k := 0; k <= 100; k++ {
		vars[fmt.Sprintf("${I+%d}", k)] = strconv.FormatUint(base+uint64(k), 10)
	}
	var out bytes.Buffer
	for _, s := range steps {
		res, err := runStep(ctl, env, vars, s)
		if err != nil {
			t.Fatalf("%s.script:%d: %v", name, s.line, err)
		}
		r := cl.normalize(s, res)
		r.stdout, r.stderr = normalizeV2(r.stdout, base), normalizeV2(reStty.ReplaceAll(r.stderr, nil), base)
		writeResult(&out, s, r)
	}

	golden := filepath.Join(dir, name+".golden")
	want, ok := readGolden(t, golden, out.Bytes())
	if ok && !bytes.Equal(out.Bytes(), want) {
		t.Errorf("output differs from %s (etcd 3.5.21 + etcdctl 3.5.21, v2):\n%s", golden, goldenfile.LineDiff(want, out.Bytes()))
	}
}

// wrapServer returns a script that runs server with extra arguments before the ones the
// cluster starter passes.
func wrapServer(t *testing.T, server string, extra []string) string {
	t.Helper()
	script := "#!/bin/sh\nexec " + strconv.Quote(server)
	for _, a := range extra {
		script += " " + strconv.Quote(a)
	}
	path := filepath.Join(t.TempDir(), "server.sh")
	if err := os.WriteFile(path, []byte(script+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// v2Index returns the X-Etcd-Index of GET /v2/keys/, or an error when the server does not
// answer it with 200.
func v2Index(addr string) (uint64, error) {
	hc := http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + addr + "/v2/keys/")
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /v2/keys/ answered %s", resp.Status)
	}
	return strconv.ParseUint(resp.Header.Get("X-Etcd-Index"), 10, 64)
}

var (
	// reStty matches what etcdctl's password prompt (speakeasy, which runs stty to turn
	// the echo off) leaves on stderr when stdin is not a terminal; larchctl turns the echo
	// off itself and leaves nothing.
	reStty        = regexp.MustCompile(`(?m)^stty: .*\n`)
	reV2Index     = regexp.MustCompile(`((?:Created-Index|Modified-Index|Index): |"(?:createdIndex|modifiedIndex)":|ETCD_WATCH_MODIFIED_INDEX=)(\d+)`)
	reV2ErrIndex  = regexp.MustCompile(`(?m)^(Error:  \d+: .*) \[(\d+)\]$`)
	reV2InOrder   = regexp.MustCompile(`\b\d{20}\b`)
	reV2Compare   = regexp.MustCompile(`Compare failed \(\[(\d+) != (\d+)\]\)`)
	reV2Expire    = regexp.MustCompile(`"expiration":"[^"]*"`)
	reV2JSONTTL   = regexp.MustCompile(`"ttl":\d+`)
	reV2TTL       = regexp.MustCompile(`(?m)^TTL: [1-9]\d*$`)
	reV2MemberHex = regexp.MustCompile(`\b[0-9a-f]{14,16}\b`)
)

// normalizeV2 rewrites store indexes relative to base (the index when the script
// started) as <I+k>, and hides expiration times and remaining TTLs, which depend on the
// clock. Member IDs not already replaced (a member added by the script) become <ID>.
func normalizeV2(b []byte, base uint64) []byte {
	rel := func(n string) string {
		v, err := strconv.ParseUint(n, 10, 64)
		if err != nil || v < base {
			return n
		}
		return fmt.Sprintf("<I+%d>", v-base)
	}
	b = reV2Index.ReplaceAllFunc(b, func(m []byte) []byte {
		sm := reV2Index.FindSubmatch(m)
		return []byte(string(sm[1]) + rel(string(sm[2])))
	})
	b = reV2ErrIndex.ReplaceAllFunc(b, func(m []byte) []byte {
		sm := reV2ErrIndex.FindSubmatch(m)
		return []byte(string(sm[1]) + " [" + rel(string(sm[2])) + "]")
	})
	// In-order keys are the creating index, zero-padded to 20 digits.
	b = reV2InOrder.ReplaceAllFunc(b, func(m []byte) []byte {
		return []byte("<INORDER " + rel(strings.TrimLeft(string(m), "0")) + ">")
	})
	b = reV2Compare.ReplaceAllFunc(b, func(m []byte) []byte {
		sm := reV2Compare.FindSubmatch(m)
		return []byte("Compare failed ([" + rel(string(sm[1])) + " != " + rel(string(sm[2])) + "])")
	})
	b = reV2Expire.ReplaceAll(b, []byte(`"expiration":"<TIME>"`))
	b = reV2JSONTTL.ReplaceAll(b, []byte(`"ttl":<TTL>`))
	b = reV2TTL.ReplaceAll(b, []byte(`TTL: <TTL>`))
	b = reV2MemberHex.ReplaceAll(b, []byte(`<ID>`))
	return b
}
