package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestE2ECluster runs testdata/larchctl/e2e/cluster.script against a cluster of three
// server processes, m1, m2 and m3, with m1 the leader, and compares every command's
// normalised output with cluster.golden: membership changes, move-leader, and the endpoint
// commands with --cluster, where a single-member cluster has little to show.
//
// The golden was made from etcd 3.6.6 and etcdctl 3.6.6, as for TestE2EV3:
//
//	LARCH_E2E_SERVER=/path/to/etcd LARCH_E2E_CTL=/path/to/etcdctl \
//	    go test ./cmd/larchctl -run TestE2ECluster -update
//
// Besides the script syntax of e2e_test.go, a line may start with a directive:
//
//	@retry 'text' <command>  run the command again, every 100 ms, while its stderr holds
//	                         text; the golden shows the last run. A member add is refused
//	                         with "unhealthy cluster" until the member has been connected
//	                         to every voter for 5 s, and a learner cannot be promoted
//	                         before it has caught up; neither has an event to wait for.
//	@start <name>            start the member that the last successful `member add` added,
//	                         with the NAME="value" lines it printed as its environment,
//	                         and wait until it has published its name
//	@exited <name>           wait for the member's process to end; shows its exit code
//	@differs 'why' <step>    a known difference of the server from etcd, explained: when
//	                         the step's output differs from the golden, the test logs it
//	                         and does not fail. The golden keeps etcd's output.
//
// ${CLIENT:mN}, ${PEER:mN} and ${ID:mN} are a member's client URL, peer URL and hex ID (an
// added member's ID is known after its `member add`); ${CLIENTS} is the client URLs of m1,
// m2 and m3. ETCDCTL_ENDPOINTS is m1's client URL. Before each command the test waits until
// m1, m2 and m3 agree on the leader, so that leader changes have settled, and until the
// running members report their final storage version (see settle).
//
// IDs, ports and the cluster ID differ between runs: the golden shows <ID:mN> (decimal),
// <HEX:mN>, <CLIENT:mN> and <PEER:mN>. The order of members follows their IDs, and an added
// member's ID is a hash of the time, so where it is in a list varies: lists of members or
// endpoints are put in the order of their (normalised) text, and the test checks the real
// order separately (checkMemberOrder). `endpoint health` prints in the order the answers
// came, and is sorted the same way.
func TestE2ECluster(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
	server, ctl := e2eBinaries(t)
	cl := startMemberCluster(t, server, 3, 9)

	dir := filepath.Join("..", "..", "testdata", "larchctl", "e2e")
	steps, err := parseScript(filepath.Join(dir, "cluster.script"))
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"ETCDCTL_ENDPOINTS=" + cl.members[0].clientURL,
	}
	var out bytes.Buffer
	var lastAdd []byte // stdout of the last successful member add
	var known []string // per step, why the server may differ from etcd there
	for _, s := range steps {
		why := ""
		if directive(s) == "@differs" {
			why, s.args = s.args[1], s.args[2:]
		}
		known = append(known, why)
		cl.settle(t)
		var res result
		cmd := s
		switch directive(s) {
		case "@start":
			cl.startAdded(t, s.args[1], lastAdd)
		case "@exited":
			res = cl.waitExit(t, s.args[1])
		case "@retry":
			cmd.args = s.args[2:]
			res = cl.retry(t, ctl, env, s, []byte(s.args[1]))
		default:
			res = cl.run(t, ctl, env, s)
		}
		if isCommand(cmd.args, "member", "add") {
			cl.learnAdded(t, cmd.args[2])
			if res.code == 0 {
				lastAdd = res.stdout
			}
			res.stdout = dropLarchTwins(t, s, res.stdout)
		}
		checkMemberOrder(t, s, res.stdout)
		writeResult(&out, s, cl.normalize(cmd, res))
	}

	checkSteps(t, filepath.Join(dir, "cluster.golden"), out.Bytes(), steps, known)
}

// dropLarchTwins checks that the LARCH_* lines that larchctl's member add prints repeat
// the ETCD_* lines before them, and leaves them out. They are larchctl's deliberate
// addition (see ctlv3/doc.go); what remains is etcdctl's output. @start shows that a larch
// member starts with them.
func dropLarchTwins(t *testing.T, s step, stdout []byte) []byte {
	t.Helper()
	var etcd, larch, rest []string
	for _, line := range strings.SplitAfter(string(stdout), "\n") {
		switch {
		case strings.HasPrefix(line, "LARCH_"):
			larch = append(larch, line)
			continue
		case strings.HasPrefix(line, "ETCD_"):
			etcd = append(etcd, "LARCH_"+strings.TrimPrefix(line, "ETCD_"))
		}
		rest = append(rest, line)
	}
	if len(larch) == 0 {
		return stdout // etcdctl's
	}
	if !bytes.HasSuffix(stdout, []byte(strings.Join(larch, ""))) || !slices.Equal(larch, etcd) {
		t.Errorf("cluster.script:%d: the LARCH_* lines do not repeat the ETCD_* lines:\n%s", s.line, stdout)
	}
	return []byte(strings.Join(rest, ""))
}

// directive returns a step's directive word, "" for a plain command.
func directive(s step) string {
	if len(s.args) > 0 && strings.HasPrefix(s.args[0], "@") {
		return s.args[0]
	}
	return ""
}

// isCommand reports whether args run the command named by words (and one more argument).
func isCommand(args []string, words ...string) bool {
	return len(args) > len(words) && slices.Equal(args[:len(words)], words)
}

// clusterMember is one member of the test cluster, started or not.
type clusterMember struct {
	name                 string
	clientURL, peerURL   string
	clientPort, peerPort string
	id                   uint64 // 0 until it is known

	cmd     *exec.Cmd
	exited  chan struct{} // nil until started; closed when the process has ended
	waitErr error         // the process's end, once exited is closed
	log     string
	// storageUnsettled is set when the storage version did not settle (see settle).
	storageUnsettled bool
}

// memberCluster is the cluster of TestE2ECluster. The first members are bootstrapped; the
// others have ports, for the script to add them.
type memberCluster struct {
	server    string
	dir       string
	members   []*clusterMember
	initial   int // how many members were bootstrapped
	clusterID uint64
	// clients reach one bootstrapped member each; all reaches all of them.
	clients []*clientv3.Client
	all     *clientv3.Client
}

// startMemberCluster starts initial members, named m1…, and reserves ports for more up
// to total. It picks the cluster token so that the members' IDs sort as their names do,
// waits until they have all published their names and agree on a leader, and makes m1 the
// leader.
func startMemberCluster(t *testing.T, server string, initial, total int) *memberCluster {
	t.Helper()
	cl := &memberCluster{server: server, dir: t.TempDir(), initial: initial}
	used := map[string]bool{}
	port := func() string {
		for {
			p := freePort(t)
			if !used[p] {
				used[p] = true
				return p
			}
		}
	}
	for i := 1; i <= total; i++ {
		m := &clusterMember{name: fmt.Sprintf("m%d", i), clientPort: port(), peerPort: port()}
		m.clientURL = "http://127.0.0.1:" + m.clientPort
		m.peerURL = "http://127.0.0.1:" + m.peerPort
		cl.members = append(cl.members, m)
	}

	boot := cl.members[:initial]
	var ic []string
	for _, m := range boot {
		ic = append(ic, m.name+"="+m.peerURL)
	}
	token := sortedToken(boot)
	for _, m := range boot {
		cl.start(t, m, nil,
			"--name", m.name,
			"--listen-peer-urls", m.peerURL,
			"--initial-advertise-peer-urls", m.peerURL,
			"--initial-cluster", strings.Join(ic, ","),
			"--initial-cluster-token", token,
			"--initial-cluster-state", "new",
		)
	}

	var eps []string
	for _, m := range boot {
		cli := newTestClient(t, m.clientURL)
		cl.clients = append(cl.clients, cli)
		eps = append(eps, m.clientURL)
	}
	cl.all = newTestClient(t, eps...)

	cl.waitFor(t, 30*time.Second, "every member to publish its name", func(ctx context.Context) error {
		ml, err := cl.all.MemberList(ctx)
		if err != nil {
			return err
		}
		for _, pm := range ml.Members {
			if pm.Name == "" {
				return fmt.Errorf("member %x has not published its name", pm.ID)
			}
			if m := cl.member(pm.Name); m != nil {
				m.id = pm.ID
			}
		}
		if len(ml.Members) != initial {
			return fmt.Errorf("%d members", len(ml.Members))
		}
		cl.clusterID = ml.Header.ClusterId
		return nil
	})
	cl.settle(t)
	cl.moveLeader(t, boot[0])
	return cl
}

// sortedToken returns the first of tok0, tok1, … with which the members' IDs, derived from
// their peer URLs and the token as etcd derives them, sort in the members' order. Then the
// lists of the bootstrapped members are in a fixed order.
func sortedToken(ms []*clusterMember) string {
	for i := 0; ; i++ {
		token := fmt.Sprintf("tok%d", i)
		var ids []uint64
		for _, m := range ms {
			sum := sha1.Sum([]byte(m.peerURL + token))
			ids = append(ids, binary.BigEndian.Uint64(sum[:8]))
		}
		if slices.IsSorted(ids) {
			return token
		}
	}
}

func newTestClient(t *testing.T, eps ...string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func (cl *memberCluster) member(name string) *clusterMember {
	for _, m := range cl.members {
		if m.name == name {
			return m
		}
	}
	return nil
}

// start runs the server for m with its data dir and client URLs, the other flags given,
// and env added to the environment. It stops the process when the test ends.
func (cl *memberCluster) start(t *testing.T, m *clusterMember, env []string, flags ...string) {
	t.Helper()
	m.log = filepath.Join(cl.dir, m.name+".log")
	logFile, err := os.Create(m.log)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"--data-dir", filepath.Join(cl.dir, m.name),
		"--listen-client-urls", m.clientURL,
		"--advertise-client-urls", m.clientURL,
	}, flags...)
	m.cmd = exec.Command(cl.server, args...)
	m.cmd.Env = append(os.Environ(), env...)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.exited = make(chan struct{})
	go func() {
		m.waitErr = m.cmd.Wait()
		close(m.exited)
	}()
	t.Cleanup(func() {
		m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.exited:
		case <-time.After(10 * time.Second):
			m.cmd.Process.Kill()
			<-m.exited
		}
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(m.log); err == nil {
				t.Logf("%s log (last 4 KiB):\n%s", m.name, tail(b, 4096))
			}
		}
	})
}

// waitFor calls cond every 50 ms until it returns nil, and fails the test after timeout.
func (cl *memberCluster) waitFor(t *testing.T, timeout time.Duration, what string, cond func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := cond(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settle waits until the bootstrapped members agree on one leader, and until every
// running member reports the storage version of its own minor version. etcd reports
// 3.5.0, or nothing, for a while after a member starts, and its status shows which; a
// member whose storage version does not settle in 15 s is not waited for again, so that
// the golden shows the difference.
func (cl *memberCluster) settle(t *testing.T) {
	t.Helper()
	cl.waitFor(t, 15*time.Second, "the members to agree on a leader", func(ctx context.Context) error {
		var leader uint64
		for i, cli := range cl.clients {
			st, err := cli.Status(ctx, cl.members[i].clientURL)
			if err != nil {
				return err
			}
			if st.Leader == 0 || (leader != 0 && st.Leader != leader) {
				return fmt.Errorf("%s sees leader %x, others %x", cl.members[i].name, st.Leader, leader)
			}
			leader = st.Leader
		}
		return nil
	})
	for _, m := range cl.members {
		if !m.running() || m.storageUnsettled {
			continue
		}
		deadline := time.Now().Add(15 * time.Second)
		for !m.storageSettled() {
			if time.Now().After(deadline) {
				m.storageUnsettled = true
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// running reports whether the member's process has started and not ended.
func (m *clusterMember) running() bool {
	if m.exited == nil {
		return false
	}
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// storageSettled reports whether the member answers a status with its storage version
// at its minor version (3.6.0 for 3.6.6), or does not answer, being removed.
func (m *clusterMember) storageSettled() bool {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{m.clientURL}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		return true
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := cli.Status(ctx, m.clientURL)
	if err != nil {
		return true
	}
	v := strings.Split(st.Version, ".")
	return len(v) == 3 && st.StorageVersion == v[0]+"."+v[1]+".0"
}

// moveLeader makes m the leader, unless it is.
func (cl *memberCluster) moveLeader(t *testing.T, m *clusterMember) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := cl.all.Status(ctx, m.clientURL)
	if err != nil {
		t.Fatal(err)
	}
	if st.Leader == m.id {
		return
	}
	for i, cli := range cl.clients {
		if cl.members[i].id == st.Leader {
			if _, err := cli.MoveLeader(ctx, m.id); err != nil {
				t.Fatalf("moving the leadership to %s: %v", m.name, err)
			}
		}
	}
	cl.settle(t)
}

// learnAdded gives the member that a member add added, if it did, the name it was added
// under.
func (cl *memberCluster) learnAdded(t *testing.T, name string) {
	t.Helper()
	m := cl.member(name)
	if m == nil {
		t.Fatalf("the script adds %s, which has no ports", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ml, err := cl.all.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, pm := range ml.Members {
		if cl.memberByID(pm.ID) == nil {
			m.id = pm.ID
		}
	}
}

func (cl *memberCluster) memberByID(id uint64) *clusterMember {
	for _, m := range cl.members {
		if m.id == id {
			return m
		}
	}
	return nil
}

// vars are the script variables of the members known so far.
func (cl *memberCluster) vars() map[string]string {
	vars := map[string]string{}
	var clients []string
	for i, m := range cl.members {
		vars["${CLIENT:"+m.name+"}"] = m.clientURL
		vars["${PEER:"+m.name+"}"] = m.peerURL
		if m.id != 0 {
			vars["${ID:"+m.name+"}"] = strconv.FormatUint(m.id, 16)
		}
		if i < cl.initial {
			clients = append(clients, m.clientURL)
		}
	}
	vars["${CLIENTS}"] = strings.Join(clients, ",")
	return vars
}

func (cl *memberCluster) run(t *testing.T, ctl string, env []string, s step) result {
	t.Helper()
	res, err := runStep(ctl, env, cl.vars(), s)
	if err != nil {
		t.Fatalf("cluster.script:%d: %v", s.line, err)
	}
	return res
}

// retry runs the command of an @retry step until its stderr no longer holds text.
func (cl *memberCluster) retry(t *testing.T, ctl string, env []string, s step, text []byte) result {
	t.Helper()
	cmd := s
	cmd.args = s.args[2:]
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := cl.run(t, ctl, env, cmd)
		if !bytes.Contains(res.stderr, text) {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster.script:%d: still %q after 30s:\n%s", s.line, text, res.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var reEnvLine = regexp.MustCompile(`(?m)^([A-Z][A-Z_]*)=(".*")$`)

// startAdded starts the added member name with the NAME="value" lines of the member add
// output as its environment, and waits until it has published its name. etcdctl prints
// only the ETCD_* lines, which the larch server does not read: when they are all there is,
// it gets them as LARCH_* too.
func (cl *memberCluster) startAdded(t *testing.T, name string, addOut []byte) {
	t.Helper()
	m := cl.member(name)
	var env []string
	larch := false
	for _, sm := range reEnvLine.FindAllSubmatch(addOut, -1) {
		v, err := strconv.Unquote(string(sm[2]))
		if err != nil {
			t.Fatalf("member add printed %s: %v", sm[0], err)
		}
		env = append(env, string(sm[1])+"="+v)
		larch = larch || strings.HasPrefix(string(sm[1]), "LARCH_")
	}
	if len(env) == 0 {
		t.Fatalf("no environment lines in the member add output:\n%s", addOut)
	}
	if !larch {
		for _, kv := range env {
			if rest, ok := strings.CutPrefix(kv, "ETCD_"); ok {
				env = append(env, "LARCH_"+rest)
			}
		}
	}
	cl.start(t, m, env, "--listen-peer-urls", m.peerURL)
	cl.waitFor(t, 30*time.Second, name+" to publish its name", func(ctx context.Context) error {
		if !m.running() {
			t.Fatalf("%s exited: %v", name, m.waitErr)
		}
		ml, err := cl.all.MemberList(ctx)
		if err != nil {
			return err
		}
		for _, pm := range ml.Members {
			if pm.ID == m.id && pm.Name == name {
				return nil
			}
		}
		return errors.New("not yet")
	})
}

// waitExit waits up to 10 s for the member's process to end and returns its exit code,
// or, if it does not end, says so and stops it.
func (cl *memberCluster) waitExit(t *testing.T, name string) result {
	t.Helper()
	m := cl.member(name)
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Kill()
		<-m.exited
		return result{stderr: []byte(name + " was still running after 10s\n"), code: -1}
	}
	var ee *exec.ExitError
	if errors.As(m.waitErr, &ee) {
		return result{code: ee.ExitCode()}
	}
	if m.waitErr != nil {
		t.Fatalf("%s: %v", name, m.waitErr)
	}
	return result{}
}

// normalize replaces IDs and ports by names, normalises the rest as for the single
// member (normalizeText) and puts the lists whose order varies in a fixed order.
func (cl *memberCluster) normalize(s step, r result) result {
	stdout := r.stdout
	if isProtobufStep(s) && len(stdout) > 0 {
		stdout = describeProtobuf(s.args, stdout)
	}
	return result{stdout: cl.normalizeBytes(stdout), stderr: cl.normalizeBytes(r.stderr), code: r.code}
}

func (cl *memberCluster) normalizeBytes(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	var repl []string
	id := func(v uint64, name string) {
		// "Member %16x added to cluster %16x" pads an ID shorter than 16 digits with
		// spaces, which the golden cannot show for an ID that varies (TestMemberChangeLines
		// checks the padding).
		hex := strconv.FormatUint(v, 16)
		repl = append(repl,
			strconv.FormatUint(v, 10), "<ID:"+name+">",
			fmt.Sprintf("Member %16x ", v), "Member <HEX:"+name+"> ",
			fmt.Sprintf("cluster %16x\n", v), "cluster <HEX:"+name+">\n",
			hex, "<HEX:"+name+">")
	}
	id(cl.clusterID, "cluster")
	for _, m := range cl.members {
		if m.id != 0 {
			id(m.id, m.name)
		}
		repl = append(repl,
			"127.0.0.1:"+m.clientPort, "127.0.0.1:<CLIENT:"+m.name+">",
			"127.0.0.1:"+m.peerPort, "127.0.0.1:<PEER:"+m.name+">")
	}
	for i := 0; i < len(repl); i += 2 {
		b = bytes.ReplaceAll(b, []byte(repl[i]), []byte(repl[i+1]))
	}
	b = normalizeText(b)
	if !isPlainText(b) {
		return b
	}
	return sortRecords(b)
}

var (
	reInitialCluster = regexp.MustCompile(`(?m)^((?:ETCD|LARCH)_INITIAL_CLUSTER=")(.*)("$)`)
	reRecordLine     = regexp.MustCompile(`^(<HEX:|http://127\.0\.0\.1:<CLIENT:)`)
)

// sortRecords sorts, by their text, the members or endpoints of: runs of simple-format
// lines that start with a member ID or a client URL, the body rows of tables, runs of
// `endpoint health` blocks in the fields format, JSON arrays of objects (members,
// endpoints) and the INITIAL_CLUSTER lines of member add.
func sortRecords(b []byte) []byte {
	b = reInitialCluster.ReplaceAllFunc(b, func(m []byte) []byte {
		sm := reInitialCluster.FindSubmatch(m)
		parts := strings.Split(string(sm[2]), ",")
		slices.Sort(parts)
		return []byte(string(sm[1]) + strings.Join(parts, ",") + string(sm[3]))
	})

	lines := strings.SplitAfter(string(b), "\n")
	// kinds: 1 a record line, 2 a table body row, 3 a line of a fields block.
	kinds := make([]int, len(lines))
	rules := 0
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "+-"):
			rules++
		case strings.HasPrefix(l, "| ") && rules == 2:
			kinds[i] = 2
		case !strings.HasPrefix(l, "| "):
			rules = 0
		}
		if reRecordLine.MatchString(l) {
			kinds[i] = 1
		}
		if strings.Contains(l, "[{") {
			lines[i] = sortJSONArrays(l)
		}
	}
	var out strings.Builder
	for i := 0; i < len(lines); {
		if strings.HasPrefix(lines[i], `"Endpoint" : `) {
			// Blocks of lines up to an empty line, while the next one starts likewise.
			var blocks []string
			for i < len(lines) && strings.HasPrefix(lines[i], `"Endpoint" : `) {
				j := i
				for j < len(lines) && lines[j] != "\n" {
					j++
				}
				blocks = append(blocks, strings.Join(lines[i:min(j+1, len(lines))], ""))
				i = j + 1
			}
			slices.Sort(blocks)
			out.WriteString(strings.Join(blocks, ""))
			continue
		}
		j := i + 1
		for kinds[i] != 0 && j < len(lines) && kinds[j] == kinds[i] {
			j++
		}
		run := slices.Clone(lines[i:j])
		slices.Sort(run)
		out.WriteString(strings.Join(run, ""))
		i = j
	}
	return []byte(out.String())
}

// sortJSONArrays sorts the elements of every JSON array of objects in one line of JSON.
func sortJSONArrays(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '[' && i+1 < len(s) && s[i+1] == '{' {
			elems, end := splitJSONArray(s, i)
			for k := range elems {
				elems[k] = sortJSONArrays(elems[k])
			}
			slices.Sort(elems)
			b.WriteString("[" + strings.Join(elems, ",") + "]")
			i = end
			continue
		}
		b.WriteByte(s[i])
		if s[i] == '"' {
			// Copy a string whole: brackets in it are text.
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			b.WriteString(s[i+1 : min(j+1, len(s))])
			i = j
		}
	}
	return b.String()
}

// splitJSONArray returns the elements of the array that opens at s[open] and the index
// of its closing bracket.
func splitJSONArray(s string, open int) (elems []string, end int) {
	depth, start := 0, open+1
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return append(elems, s[start:i]), i
			}
		case ',':
			if depth == 1 {
				elems = append(elems, s[start:i])
				start = i + 1
			}
		}
	}
	return append(elems, s[start:]), len(s) - 1
}

var reMemberRow = regexp.MustCompile(`(?m)^([0-9a-f]+), (?:un)?started, `)

// checkMemberOrder checks what the sorting of sortRecords hides: members are listed by
// ID, in simple member lists and in the JSON of member list and member add.
func checkMemberOrder(t *testing.T, s step, stdout []byte) {
	t.Helper()
	var ids []uint64
	for _, sm := range reMemberRow.FindAllSubmatch(stdout, -1) {
		id, _ := strconv.ParseUint(string(sm[1]), 16, 64)
		ids = append(ids, id)
	}
	var doc struct {
		Members []struct{ ID uint64 }
	}
	if bytes.HasPrefix(stdout, []byte(`{"header"`)) && json.Unmarshal(stdout, &doc) == nil {
		for _, m := range doc.Members {
			ids = append(ids, m.ID)
		}
	}
	if !slices.IsSorted(ids) {
		t.Errorf("cluster.script:%d: members are not listed by ID: %x", s.line, ids)
	}
}
