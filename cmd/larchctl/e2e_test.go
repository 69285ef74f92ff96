package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/larchkv/larch/cluster/clustertest"
	goldenfile "github.com/larchkv/larch/cmd/larchctl/internal/golden"
)

// The end-to-end test runs the built larch server and larchctl through scripts of larchctl
// commands and compares every command's stdout, stderr and exit code with goldens.
//
// The goldens encode etcd's behaviour: they were made by running the same scripts, with the
// same normalisation, against etcd 3.6.6 and etcdctl 3.6.6:
//
//	LARCH_E2E_SERVER=/path/to/etcd LARCH_E2E_CTL=/path/to/etcdctl \
//	    go test ./cmd/larchctl -run TestE2E -update
//
// Either variable alone also works, e.g. LARCH_E2E_SERVER=etcd checks larchctl against a
// real etcd server. Without them the test builds ./cmd/larch and ./cmd/larchctl, and skips
// while ./cmd/larch does not build. LARCH_E2E_OUT=<file> keeps the normalised output of a
// run, to diff against the golden.

var update = flag.Bool("update", false, "rewrite the e2e goldens (run against etcd and etcdctl 3.6.6, see e2e_test.go)")

func TestE2EV3(t *testing.T) {
	runE2E(t, "v3", nil)
}

// runE2E starts a single-member cluster, runs testdata/larchctl/e2e/<name>.script with
// baseEnv added to every command's environment, and checks <name>.golden.
func runE2E(t *testing.T, name string, baseEnv []string) {
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
	server, ctl := e2eBinaries(t)
	cl := startCluster(t, server)

	dir := filepath.Join("..", "..", "testdata", "larchctl", "e2e")
	steps, err := parseScript(filepath.Join(dir, name+".script"))
	if err != nil {
		t.Fatal(err)
	}
	env := append([]string{
		"PATH=" + os.Getenv("PATH"),
		"ETCDCTL_ENDPOINTS=" + cl.clientAddr,
	}, baseEnv...)

	vars := map[string]string{"${CLIENT}": cl.clientAddr}
	var out bytes.Buffer
	var known []string // per step, why the server may differ from etcd there
	for _, s := range steps {
		why := ""
		if directive(s) == "@differs" {
			why, s.args = s.args[1], s.args[2:]
		}
		known = append(known, why)
		s.learn = func() { cl.learnLeases(t, result{}, vars) }
		res, err := runStep(ctl, env, vars, s)
		if err != nil {
			t.Fatalf("%s:%d: %v", name, s.line, err)
		}
		cl.learnLeases(t, res, vars)
		writeResult(&out, s, cl.normalize(s, res))
	}
	checkSteps(t, filepath.Join(dir, name+".golden"), out.Bytes(), steps, known)
}

// checkSteps compares the output of a script with its golden (see readGolden) step by
// step, so that the known differences of the server from etcd can be told from the
// others: a step whose known entry says why it may differ is logged, not failed. Every
// line of a step's result has a prefix, so a step ends at the first empty line.
func checkSteps(t *testing.T, golden string, got []byte, steps []step, known []string) {
	t.Helper()
	want, ok := readGolden(t, golden, got)
	if !ok {
		return
	}
	script := strings.TrimSuffix(filepath.Base(golden), ".golden") + ".script"
	wantSteps, gotSteps := strings.SplitAfter(string(want), "\n\n"), strings.SplitAfter(string(got), "\n\n")
	if len(wantSteps) != len(gotSteps) {
		t.Fatalf("output differs from %s (etcd 3.6.6 + etcdctl 3.6.6):\n%s", golden, goldenfile.LineDiff(want, got))
	}
	for i := range steps {
		if wantSteps[i] == gotSteps[i] {
			continue
		}
		diff := goldenfile.LineDiff([]byte(wantSteps[i]), []byte(gotSteps[i]))
		if known[i] != "" {
			t.Logf("%s:%d: known server difference from etcd (%s):\n%s", script, steps[i].line, known[i], diff)
			continue
		}
		t.Errorf("%s:%d: output differs from %s (etcd 3.6.6 + etcdctl 3.6.6):\n%s", script, steps[i].line, golden, diff)
	}
}

// readGolden returns the golden of an e2e run to compare out with. It first keeps out in
// the file that LARCH_E2E_OUT names, if any, to diff against the golden by hand. With
// -update it rewrites the golden with out instead, and returns false.
func readGolden(t *testing.T, golden string, out []byte) ([]byte, bool) {
	t.Helper()
	if path := os.Getenv("LARCH_E2E_OUT"); path != "" {
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return nil, false
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	return want, true
}

// e2eBinaries returns the server and ctl binaries: given by LARCH_E2E_SERVER and
// LARCH_E2E_CTL, or built from ./cmd/larch and ./cmd/larchctl into a temporary directory.
func e2eBinaries(t *testing.T) (server, ctl string) {
	t.Helper()
	dir := t.TempDir()
	server, ctl = os.Getenv("LARCH_E2E_SERVER"), os.Getenv("LARCH_E2E_CTL")
	if server == "" {
		server = filepath.Join(dir, "larch")
		if out, err := goBuild(server, "./cmd/larch"); err != nil {
			t.Skipf("e2e: ./cmd/larch does not build yet, so there is no server to test against:\n%s", out)
		}
	}
	if ctl == "" {
		ctl = filepath.Join(dir, "larchctl")
		if out, err := goBuild(ctl, "./cmd/larchctl"); err != nil {
			t.Fatalf("building ./cmd/larchctl: %v\n%s", err, out)
		}
	}
	return server, ctl
}

func goBuild(out, pkg string) ([]byte, error) {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	return cmd.CombinedOutput()
}

// cluster is a running single-member cluster and what the normaliser needs to know of it.
type cluster struct {
	clientAddr string // 127.0.0.1:port
	clientPort string
	peerPort   string
	clusterID  uint64
	memberID   uint64

	cli    *clientv3.Client // the test's own client of the server
	leases []int64          // the lease IDs met so far (see learnLeases)
}

// startCluster starts the server with etcd's flags on free loopback ports and waits until
// the client port answers a Get.
func startCluster(t *testing.T, server string) *cluster {
	t.Helper()
	clientPort, peerPort := freePort(t), freePort(t)
	clientURL := "http://127.0.0.1:" + clientPort
	peerURL := "http://127.0.0.1:" + peerPort
	cl := &cluster{clientAddr: "127.0.0.1:" + clientPort, clientPort: clientPort, peerPort: peerPort}
	cl.cli = startServer(t, server, cl.clientAddr,
		"--name", "e2e",
		"--data-dir", filepath.Join(t.TempDir(), "data"),
		"--listen-client-urls", clientURL,
		"--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL,
		"--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "e2e="+peerURL,
	)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ml, err := cl.cli.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cl.clusterID, cl.memberID = ml.Header.ClusterId, ml.Header.MemberId
	return cl
}

// startServer runs the server binary with args until the test ends (SIGTERM, then a kill
// after 10 s; its log is shown if the test failed) and returns a client of clientAddr
// once that answers a Get.
func startServer(t *testing.T, server, clientAddr string, args ...string) *clientv3.Client {
	t.Helper()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(server, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("server log (last 4 KiB):\n%s", tail(b, 4096))
			}
		}
	})
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{clientAddr}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	var lastErr error
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, lastErr = cli.Get(ctx, "e2e-ready")
		cancel()
		if lastErr == nil {
			return cli
		}
		select {
		case err := <-exited:
			t.Fatalf("server exited before it served: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("server did not answer a Get on %s: %v", clientAddr, lastErr)
	return nil
}

// freePort returns a port that stays free across a restart of a server.
func freePort(t *testing.T) string {
	_, port, _ := strings.Cut(clustertest.FreeAddr(t), ":")
	return port
}

// A step is one command of a script. Script syntax, one command per line:
//
//	# a comment; empty lines are ignored
//	put foo "a b"              arguments split like a shell does: '…', "…" with \ escapes
//	ETCDCTL_API=3 put foo bar  leading NAME=value words set environment variables
//	-ETCDCTL_ENDPOINTS get foo leading -NAME words unset them
//	get foo --endpoints=${CLIENT}  ${CLIENT} is the server's client address
//	@differs 'why' get foo     a known difference of the server from etcd (see checkSteps)
//	txn <<END                  the lines up to END are stdin, each ended by a newline
//	…
//	END
//
// A stdin block with lines that start with @ runs live (see runLive): its other lines are
// written while the command runs, in order with these actions, and stdin is closed after
// the last of them:
//
//	@until 'text'       wait until the command's stdout or stderr holds text, after the
//	                    texts of the @until lines before
//	@run put k v        run another command to its end (it must succeed; its output is not shown)
//	@kill               kill the command (SIGKILL); the golden shows exit -1
//	@exit               wait until the command ends by itself, stdin still open
//	@signal INT         send SIGINT (or TERM: SIGTERM) to the command
//	@await 'text' get k run another command again until its stdout holds text
//
// Lease IDs vary from run to run: the test learns them (see learnLeases), shows them as
// <LEASE_n> in the order it met them, and ${LEASE_n} in a script stands for the hex ID;
// ${LEASE_LAST} stands for the newest, which in an @run or @await action can be one the
// live command granted.
type step struct {
	line  int
	text  string // the command line as written
	env   []string
	unset []string
	args  []string
	stdin string
	live  []liveAction // nil unless the stdin block has @ lines
	learn func()       // if set, learns the server's leases before each @run and @await
}

func parseScript(path string) ([]step, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var steps []step
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		s := step{line: n, text: line}
		cmdline := line
		if i := strings.LastIndex(line, " <<"); i >= 0 && !strings.ContainsAny(line[i+3:], " '\"") {
			cmdline = line[:i]
			end := line[i+3:]
			var in, chunk strings.Builder
			closed := false
			for sc.Scan() {
				n++
				if sc.Text() == end {
					closed = true
					break
				}
				if strings.HasPrefix(sc.Text(), "@") {
					a, err := parseLiveAction(sc.Text())
					if err != nil {
						return nil, fmt.Errorf("%s:%d: %v", path, n, err)
					}
					if chunk.Len() > 0 {
						s.live = append(s.live, liveAction{write: chunk.String()})
						chunk.Reset()
					}
					s.live = append(s.live, a)
					continue
				}
				in.WriteString(sc.Text() + "\n")
				chunk.WriteString(sc.Text() + "\n")
			}
			if !closed {
				return nil, fmt.Errorf("%s:%d: no %s line", path, s.line, end)
			}
			if s.live != nil && chunk.Len() > 0 {
				s.live = append(s.live, liveAction{write: chunk.String()})
			}
			s.stdin = in.String()
		}
		words, err := shellWords(cmdline)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, s.line, err)
		}
		for len(words) > 0 {
			w := words[0]
			if name, _, ok := strings.Cut(w, "="); ok && isEnvName(name) {
				s.env = append(s.env, w)
			} else if strings.HasPrefix(w, "-") && isEnvName(w[1:]) {
				s.unset = append(s.unset, w[1:])
			} else {
				break
			}
			words = words[1:]
		}
		s.args = words
		steps = append(steps, s)
	}
	return steps, sc.Err()
}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// shellWords splits a command line into words: whitespace separates, '…' quotes literally,
// "…" quotes with backslash escapes (\n, \t, \", \\, \xNN as in Go), and adjacent parts join.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated '")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return nil, errors.New(`unterminated "`)
			}
			v, err := strconv.Unquote(s[i : j+1])
			if err != nil {
				return nil, fmt.Errorf("bad quoted string %s: %v", s[i:j+1], err)
			}
			cur.WriteString(v)
			i = j
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

type result struct {
	stdout, stderr []byte
	code           int
}

// runStep runs one command with base plus the step's environment, after replacing the
// vars in its arguments and environment values. A command gets 30 s.
func runStep(bin string, base []string, vars map[string]string, s step) (result, error) {
	env := make([]string, 0, len(base)+len(s.env))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, u := range s.unset {
			keep = keep && u != name
		}
		if keep {
			env = append(env, kv)
		}
	}
	for _, kv := range s.env {
		env = append(env, expand(kv, vars))
	}

	args := make([]string, len(s.args))
	for i, a := range s.args {
		args[i] = expand(a, vars)
	}
	if s.live != nil {
		return runLive(bin, env, args, vars, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(s.stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.Bytes(), stderr: stderr.Bytes()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("%q did not finish in 30s; stdout:\n%s\nstderr:\n%s", s.text, res.stdout, res.stderr)
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		return res, err
	}
	return res, nil
}

// expand replaces the vars in s.
func expand(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// writeResult appends one step to a golden file:
//
//	$ <command line>
//	< "stdin, Go-quoted, when the step has one"
//	< @until "text"    (a live step: one line per write and action)
//	| a stdout line
//	2| a stderr line
//	exit 0
//
// A stream that is not plain text ending in a newline is written Go-quoted on one line
// instead ("|= …" for stdout, "2|= …" for stderr).
func writeResult(w *bytes.Buffer, s step, r result) {
	fmt.Fprintf(w, "$ %s\n", s.text)
	switch {
	case s.live != nil:
		for _, a := range s.live {
			fmt.Fprintf(w, "< %s\n", a)
		}
	case s.stdin != "":
		fmt.Fprintf(w, "< %q\n", s.stdin)
	}
	writeStream(w, "|", r.stdout)
	writeStream(w, "2|", r.stderr)
	fmt.Fprintf(w, "exit %d\n\n", r.code)
}

func writeStream(w *bytes.Buffer, prefix string, b []byte) {
	if len(b) == 0 {
		return
	}
	if !isPlainText(b) {
		fmt.Fprintf(w, "%s= %q\n", prefix, b)
		return
	}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			fmt.Fprintf(w, "%s %s", prefix, line)
		}
	}
}

func isPlainText(b []byte) bool {
	if !utf8.Valid(b) || b[len(b)-1] != '\n' {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\t' {
			return false
		}
	}
	return true
}

// normalize replaces what differs between clusters and runs, and between etcd and Larch
// where the contract leaves room: member and cluster IDs, ports, the raft term, raft
// indexes and database sizes in endpoint status, durations, log timestamps, pointers and
// stack traces. Tables are redrawn with single spaces, since the replaced values change
// column widths.
func (cl *cluster) normalize(s step, r result) result {
	stdout := r.stdout
	if isProtobufStep(s) && len(stdout) > 0 {
		stdout = describeProtobuf(s.args, stdout)
	}
	return result{
		stdout: normalizeRemaining(s, cl.normalizeBytes(stdout)),
		stderr: normalizeRemaining(s, cl.normalizeBytes(r.stderr)),
		code:   r.code,
	}
}

func isProtobufStep(s step) bool {
	for i, a := range s.args {
		if a == "-wprotobuf" || a == "--write-out=protobuf" || a == "-w=protobuf" ||
			((a == "-w" || a == "--write-out") && i+1 < len(s.args) && s.args[i+1] == "protobuf") {
			return true
		}
	}
	for _, kv := range s.env {
		if kv == "ETCDCTL_WRITE_OUT=protobuf" {
			return true
		}
	}
	return false
}

// describeProtobuf decodes the protobuf output of a command into the response message the
// command prints and shows it as JSON, so the golden can hide IDs whose varint encodings
// differ in length between clusters.
func describeProtobuf(args []string, b []byte) []byte {
	var m interface{ Unmarshal([]byte) error }
	switch {
	case len(args) > 0 && args[0] == "put":
		m = &pb.PutResponse{}
	case len(args) > 0 && args[0] == "get":
		m = &pb.RangeResponse{}
	case len(args) > 0 && args[0] == "del":
		m = &pb.DeleteRangeResponse{}
	case len(args) > 0 && args[0] == "txn":
		m = &pb.TxnResponse{}
	case len(args) > 1 && args[0] == "member" && args[1] == "list":
		m = &pb.MemberListResponse{}
	case len(args) > 1 && args[0] == "member" && args[1] == "add":
		m = &pb.MemberAddResponse{}
	case len(args) > 1 && args[0] == "member" && args[1] == "remove":
		m = &pb.MemberRemoveResponse{}
	case len(args) > 1 && args[0] == "member" && args[1] == "update":
		m = &pb.MemberUpdateResponse{}
	case len(args) > 1 && args[0] == "member" && args[1] == "promote":
		m = &pb.MemberPromoteResponse{}
	case len(args) > 0 && args[0] == "lease":
		// etcdctl marshals the header that clientv3's lease responses embed.
		m = &pb.ResponseHeader{}
	case len(args) > 0 && (args[0] == "lock" || args[0] == "elect"):
		m = &pb.RangeResponse{}
	case len(args) > 0 && args[0] == "move-leader":
		m = &pb.MoveLeaderResponse{}
	case len(args) > 0 && args[0] == "watch":
		// Several responses follow one another undelimited: they decode as one message,
		// with the events of all and the last values of the other fields.
		m = &pb.WatchResponse{}
	default:
		return []byte(fmt.Sprintf("<%d bytes>\n", len(b)))
	}
	return describeMessage(m, b)
}

var (
	reTS        = regexp.MustCompile(`"ts":"[^"]*"`)
	reStack     = regexp.MustCompile(`"stacktrace":"[^"]*"`)
	rePtr       = regexp.MustCompile(`0x[0-9a-f]{6,}`)
	reGoPanic   = regexp.MustCompile(`(?s)(goroutine \d+ \[running\]:\n).*`)
	reDuration  = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s)\b`)
	reJSONTerm  = regexp.MustCompile(`"(raft_term|raftTerm)":\d+`)
	reJSONSizes = regexp.MustCompile(`"(dbSize|dbSizeInUse|raftIndex|raftAppliedIndex)":\d+`)
	reFieldTerm = regexp.MustCompile(`"RaftTerm" : \d+`)
	reTextTerm  = regexp.MustCompile(`\braft_term:\d+`) // a message's String(), in an error
	reFieldSize = regexp.MustCompile(`"(DBSize|DBSizeInUse|RaftIndex|RaftAppliedIndex)" : \d+`)
	// endpoint, ID, version, storage version, db size, in use, % not in use, quota, leader,
	// learner, raft term, raft index, raft applied index, ...
	reStatusLine = regexp.MustCompile(`(?m)^([^,\n]+, [^,\n]+, [^,\n]+, [^,\n]*), [^,\n]+, [^,\n]+, \d+%, ([^,\n]+, (?:true|false), (?:true|false)), \d+, \d+, \d+,`)
)

func (cl *cluster) normalizeBytes(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	ids := []struct{ from, to string }{
		{strconv.FormatUint(cl.clusterID, 10), "<CLUSTER_ID>"},
		{strconv.FormatUint(cl.memberID, 10), "<MEMBER_ID>"},
		{strconv.FormatUint(cl.clusterID, 16), "<CLUSTER_ID_HEX>"},
		{strconv.FormatUint(cl.memberID, 16), "<MEMBER_ID_HEX>"},
		{"127.0.0.1:" + cl.clientPort, "127.0.0.1:<CLIENT_PORT>"},
		{"127.0.0.1:" + cl.peerPort, "127.0.0.1:<PEER_PORT>"},
	}
	for _, id := range ids {
		b = bytes.ReplaceAll(b, []byte(id.from), []byte(id.to))
	}
	return normalizeText(cl.normalizeLeases(b))
}

// normalizeText replaces what varies in plain-text output once the cluster's own IDs and
// ports are replaced: log timestamps, stack traces, pointers, durations, raft terms and
// indexes, database sizes; and redraws tables (see normalize).
func normalizeText(b []byte) []byte {
	if !isPlainText(b) {
		return b
	}
	b = reTS.ReplaceAll(b, []byte(`"ts":"<TS>"`))
	b = reStack.ReplaceAll(b, []byte(`"stacktrace":"<STACK>"`))
	b = rePtr.ReplaceAll(b, []byte(`0x<PTR>`))
	b = reGoPanic.ReplaceAll(b, []byte("${1}<STACK>\n"))
	b = replaceDurations(b)
	b = reJSONTerm.ReplaceAll(b, []byte(`"$1":<TERM>`))
	b = reJSONSizes.ReplaceAll(b, []byte(`"$1":<N>`))
	b = reFieldTerm.ReplaceAll(b, []byte(`"RaftTerm" : <TERM>`))
	b = reTextTerm.ReplaceAll(b, []byte(`raft_term:<TERM>`))
	b = reFieldSize.ReplaceAll(b, []byte(`"$1" : <N>`))
	b = reStatusLine.ReplaceAll(b, []byte(`$1, <SIZE>, <SIZE>, <PCT>, $2, <TERM>, <N>, <N>,`))
	return normalizeTables(b)
}

// tableColumns are the table columns whose values are normalised, by header.
var tableColumns = map[string]string{
	"DB SIZE": "<SIZE>", "IN USE": "<SIZE>", "PERCENTAGE NOT IN USE": "<PCT>",
	"RAFT TERM": "<TERM>", "RAFT INDEX": "<N>", "RAFT APPLIED INDEX": "<N>",
}

// normalizeTables redraws ASCII tables with one space around each cell and one dash per
// rule segment, replacing the values of tableColumns.
func normalizeTables(b []byte) []byte {
	lines := strings.SplitAfter(string(b), "\n")
	var out strings.Builder
	var header []string
	for _, line := range lines {
		body := strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(body, "+-") && strings.HasSuffix(body, "-+"):
			n := strings.Count(body, "+") - 1
			out.WriteString("+" + strings.Repeat("-+", n) + "\n")
		case strings.HasPrefix(body, "|") && strings.HasSuffix(body, "|"):
			cells := strings.Split(body[1:len(body)-1], "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			if header == nil {
				header = cells
			} else {
				for i, c := range cells {
					if i < len(header) && c != "" {
						if to, ok := tableColumns[header[i]]; ok {
							cells[i] = to
						}
					}
				}
			}
			out.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		default:
			header = nil
			out.WriteString(line)
		}
	}
	return []byte(out.String())
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
