package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/larchkv/larch/cluster/clustertest"
)

// These tests run the built larch binary as a user does and kill it with
// SIGKILL, which no in-process test can imitate.

var larchBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "larch-bin")
	if err != nil {
		panic(err)
	}
	larchBin = filepath.Join(dir, "larch")
	out, err := exec.Command("go", "build", "-o", larchBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building larch: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type process struct {
	t       *testing.T
	dataDir string
	client  string
	peer    string
	args    []string
	cmd     *exec.Cmd
	stderr  *syncBuffer
	exited  chan error
	// tls, if set, is what clients of the process dial with.
	tls *tls.Config
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr returns a port that stays free across a restart of the process.
func freeAddr(t *testing.T) string { return clustertest.FreeAddr(t) }

func newProcess(t *testing.T, extra ...string) *process {
	p := &process{t: t, dataDir: filepath.Join(t.TempDir(), "data"), client: freeAddr(t), peer: freeAddr(t)}
	p.args = append([]string{"--name", "d1", "--data-dir", p.dataDir,
		"--listen-client-urls", "http://" + p.client, "--advertise-client-urls", "http://" + p.client,
		"--listen-peer-urls", "http://" + p.peer, "--initial-advertise-peer-urls", "http://" + p.peer,
		"--initial-cluster", "d1=http://" + p.peer, "--heartbeat-interval", "10", "--election-timeout", "100"}, extra...)
	t.Cleanup(func() {
		if p.cmd != nil {
			p.kill()
		}
	})
	return p
}

// start runs the binary and returns once it serves a linearizable read.
func (p *process) start() {
	p.t.Helper()
	if err := p.launch(); err != nil {
		p.t.Fatal(err)
	}
	p.waitReady()
}

// waitReady returns once the launched process serves a linearizable read.
func (p *process) waitReady() {
	p.t.Helper()
	c := p.newClient()
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, err := c.Get(ctx, "ready")
		cancel()
		if err == nil {
			return
		}
		select {
		case err := <-p.exited:
			p.cmd = nil
			p.t.Fatalf("larch exited at start: %v\n%s", err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("larch not ready: %v\n%s", err, p.stderr.String())
		}
	}
}

func (p *process) launch() error {
	p.cmd = exec.Command(larchBin, p.args...)
	p.stderr = &syncBuffer{}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.exited = make(chan error, 1)
	go func() { p.exited <- p.cmd.Wait() }()
	return nil
}

func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.cmd = nil
}

func (p *process) terminate() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.exited; err != nil {
		p.t.Fatalf("larch exited with %v after SIGTERM\n%s", err, p.stderr.String())
	}
	p.cmd = nil
}

func (p *process) newClient() *clientv3.Client {
	p.t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{p.client}, TLS: p.tls, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

// writeUntilKilled runs concurrent writers, kills the server once `acks`
// writes were acknowledged, and returns every acknowledged key and value.
func writeUntilKilled(t *testing.T, p *process, acks int) map[string]string {
	c := p.newClient()
	defer c.Close()
	return putUntilKilled(t, p, acks, "w", func(ctx context.Context, key, val string) error {
		_, err := c.Put(ctx, key, val)
		return err
	})
}

// putUntilKilled runs 8 concurrent writers of keys prefix<w>/<i> through
// put, kills the server once acks writes were acknowledged, and returns
// every acknowledged key and value.
func putUntilKilled(t *testing.T, p *process, acks int, prefix string, put func(ctx context.Context, key, val string) error) map[string]string {
	var mu sync.Mutex
	acked := map[string]string{}
	killed := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				key, val := fmt.Sprintf("%s%d/%06d", prefix, w, i), fmt.Sprintf("value-%d-%d.", w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				err := put(ctx, key, val)
				cancel()
				if err != nil {
					select {
					case <-killed:
						return
					default:
						t.Errorf("put before the kill: %v", err)
						return
					}
				}
				mu.Lock()
				acked[key] = val
				n := len(acked)
				mu.Unlock()
				if n >= acks {
					once.Do(func() {
						close(killed)
						p.kill()
					})
				}
			}
		}()
	}
	wg.Wait()
	return acked
}

func checkAcked(t *testing.T, p *process, acked map[string]string) {
	t.Helper()
	c := p.newClient()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Get(ctx, "w", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range resp.Kvs {
		got[string(kv.Key)] = string(kv.Value)
	}
	lost := 0
	for k, v := range acked {
		if got[k] != v {
			lost++
			if lost < 5 {
				t.Errorf("acknowledged %s=%s is %q after restart", k, v, got[k])
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", lost, len(acked))
	}
}

func TestKillDuringWrites(t *testing.T) {
	for _, snapshotCount := range []string{"10000", "50"} {
		t.Run("snapshot-count="+snapshotCount, func(t *testing.T) {
			p := newProcess(t, "--snapshot-count", snapshotCount)
			all := map[string]string{}
			for round := 0; round < 3; round++ {
				p.start()
				checkAcked(t, p, all)
				for k, v := range writeUntilKilled(t, p, 300) {
					all[k] = v
				}
			}
			p.start()
			checkAcked(t, p, all)
			if snapshotCount == "50" {
				snaps, _ := filepath.Glob(filepath.Join(p.dataDir, "member", "snap", "*.snap"))
				if len(snaps) == 0 {
					t.Fatal("no snapshot was written with --snapshot-count 50")
				}
			}
		})
	}
}

// walEnd returns the newest WAL segment and the offset just past its last
// record: records are 8-byte aligned and the rest of a segment is zeros.
func walEnd(t *testing.T, dataDir string) (string, int64) {
	segs, err := filepath.Glob(filepath.Join(dataDir, "member", "wal", "*.wal"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no wal segments: %v", err)
	}
	slices.Sort(segs)
	last := segs[len(segs)-1]
	b, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	end := int64(len(bytes.TrimRight(b, "\x00")))
	return last, (end + 7) &^ 7
}

func TestTornWALTail(t *testing.T) {
	p := newProcess(t)
	p.start()
	acked := writeUntilKilled(t, p, 200)
	seg, end := walEnd(t, p.dataDir)
	// Half of a record: a header announcing 64 bytes of payload, and only 20 of them.
	f, err := os.OpenFile(seg, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	torn := append([]byte{64, 0, 0, 0, 2, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0}, bytes.Repeat([]byte{0x5a}, 20)...)
	if _, err := f.WriteAt(torn, end); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p.start()
	checkAcked(t, p, acked)
	if !strings.Contains(p.stderr.String(), "torn") {
		t.Errorf("no warning about the torn tail in the log:\n%s", p.stderr.String())
	}
	// The member keeps working after the repair and survives another restart.
	c := p.newClient()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Put(ctx, "w-after", "x"); err != nil {
		t.Fatal(err)
	}
	acked["w-after"] = "x"
	p.terminate()
	p.start()
	checkAcked(t, p, acked)
}

func TestFlippedWALByteRefused(t *testing.T) {
	p := newProcess(t)
	p.start()
	writeUntilKilled(t, p, 200)
	seg, end := walEnd(t, p.dataDir)
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	off := end / 2
	b[off] ^= 0x40
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.launch(); err != nil {
		t.Fatal(err)
	}
	var exitErr *exec.ExitError
	select {
	case err = <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("larch kept running on a corrupt WAL")
	}
	p.cmd = nil
	if !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
		t.Fatalf("larch exit: %v", err)
	}
	log := p.stderr.String()
	if !strings.Contains(log, "corrupt") || !strings.Contains(log, filepath.Base(seg)) || !strings.Contains(log, "offset") {
		t.Fatalf("the error does not name the corruption, file and offset:\n%s", log)
	}
}
