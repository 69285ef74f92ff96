// Command larchbench measures a Larch (or etcd) server: put and range
// throughput and latency with many concurrent clients over several
// connections, and the cost of one fdatasync on the local disk as the floor
// for a durable write. Without --endpoints it starts its own larch cluster
// of --members members from --larch on free loopback ports and temporary
// data dirs.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// requestTimeout bounds every request, so a dead server ends the run.
const requestTimeout = 10 * time.Second

type options struct {
	endpoints string
	larch     string
	conns     int
	clients   int
	total     int
	valSize   int
	keySize   int
	keySpace  int
	consist   string
	members   int
	watchers  int
	// user and password, when set, are the credentials the KV clients
	// log in with (the auth scenarios).
	user, password string
	// tls, when set, is the clients' TLS (the tls scenarios).
	tls *tls.Config
}

func main() {
	var o options
	flag.StringVar(&o.endpoints, "endpoints", "", "server to measure (host:port,...); empty starts a larch from --larch")
	flag.StringVar(&o.larch, "larch", "bin/larch", "larch binary to start when --endpoints is empty")
	flag.IntVar(&o.conns, "conns", 10, "gRPC connections shared by the clients")
	flag.IntVar(&o.clients, "clients", 100, "concurrent clients")
	flag.IntVar(&o.total, "total", 20000, "requests per scenario")
	flag.IntVar(&o.valSize, "val-size", 256, "value size in bytes")
	flag.IntVar(&o.keySize, "key-size", 8, "key size in bytes")
	flag.IntVar(&o.keySpace, "key-space", 10000, "distinct keys")
	flag.StringVar(&o.consist, "consistency", "l", "range consistency: l (linearizable) or s (serializable)")
	flag.IntVar(&o.watchers, "watchers", 10000, "watchers of the watch scenario")
	flag.IntVar(&o.members, "members", 1, "members of the cluster started when --endpoints is empty")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: larchbench [flags] [scenario...]\nscenarios: fsync put range authput authrange tlsput tlsrange watch keepalive v2set v2get (default: all)\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	scenarios := flag.Args()
	if len(scenarios) == 0 {
		scenarios = []string{"fsync", "put", "range", "authput", "authrange", "tlsput", "tlsrange", "watch", "keepalive", "v2set", "v2get"}
	}
	if err := run(o, scenarios); err != nil {
		fmt.Fprintf(os.Stderr, "larchbench: %v\n", err)
		os.Exit(1)
	}
}

func run(o options, scenarios []string) error {
	dir, err := os.MkdirTemp("", "larchbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The tls scenarios start a server of their own.
	needServer := slices.ContainsFunc(scenarios, func(s string) bool { return s != "fsync" && !strings.HasPrefix(s, "tls") })
	endpoints := o.endpoints
	if endpoints == "" && needServer {
		ep, stop, err := startLarch(o.larch, dir, o.members)
		if err != nil {
			return err
		}
		defer stop()
		endpoints = ep
	}
	for _, s := range scenarios {
		switch s {
		case "fsync":
			if err := benchFsync(dir, o.valSize); err != nil {
				return err
			}
		case "put", "range":
			if err := benchKV(o, strings.Split(endpoints, ","), s); err != nil {
				return err
			}
		case "tlsput", "tlsrange":
			if err := benchTLS(o, dir, strings.TrimPrefix(s, "tls")); err != nil {
				return err
			}
		case "authput", "authrange":
			if err := benchAuthKV(o, strings.Split(endpoints, ","), strings.TrimPrefix(s, "auth")); err != nil {
				return err
			}
		case "keepalive":
			if err := benchKeepAlive(o, strings.Split(endpoints, ",")); err != nil {
				return err
			}
		case "watch":
			if err := benchWatch(o, strings.Split(endpoints, ",")); err != nil {
				return err
			}
		case "v2set", "v2get":
			if err := benchV2(o, strings.Split(endpoints, ",")[0], s); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown scenario %q", s)
		}
	}
	return nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startLarch starts a cluster of n larch processes and returns their
// client endpoints, comma-separated, once every one serves a linearizable
// read.
func startLarch(bin, dir string, n int) (string, func(), error) {
	return startLarchTLS(bin, dir, n, nil, nil)
}

// startLarchTLS is startLarch with https client URLs served with the
// certificate flags in tlsFlags, and clientTLS for its readiness check;
// plain HTTP when tlsFlags is nil.
func startLarchTLS(bin, dir string, n int, tlsFlags []string, clientTLS *tls.Config) (string, func(), error) {
	if n < 1 {
		return "", nil, fmt.Errorf("--members %d: need at least one", n)
	}
	clients := make([]string, n)
	peers := make([]string, n)
	var initial []string
	for i := range n {
		var err error
		if clients[i], err = freePort(); err != nil {
			return "", nil, err
		}
		if peers[i], err = freePort(); err != nil {
			return "", nil, err
		}
		initial = append(initial, fmt.Sprintf("bench%d=http://%s", i, peers[i]))
	}
	var cmds []*exec.Cmd
	stop := func() {
		for _, cmd := range cmds {
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, cmd := range cmds {
			_ = cmd.Wait()
		}
	}
	scheme := "http://"
	if tlsFlags != nil {
		scheme = "https://"
	}
	for i := range n {
		args := append([]string{"--name", fmt.Sprintf("bench%d", i), "--data-dir", filepath.Join(dir, fmt.Sprintf("data%d", i)),
			"--listen-client-urls", scheme + clients[i], "--advertise-client-urls", scheme + clients[i],
			"--listen-peer-urls", "http://" + peers[i], "--initial-advertise-peer-urls", "http://" + peers[i],
			"--initial-cluster", strings.Join(initial, ","), "--log-level", "warn"}, tlsFlags...)
		cmd := exec.Command(bin, args...)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			stop()
			return "", nil, fmt.Errorf("start %s (run `make build` first): %w", bin, err)
		}
		cmds = append(cmds, cmd)
	}
	for _, ep := range clients {
		if err := waitReady(ep, clientTLS); err != nil {
			stop()
			return "", nil, err
		}
	}
	return strings.Join(clients, ","), stop, nil
}

func waitReady(endpoint string, clientTLS *tls.Config) error {
	cs, closeClient, err := newUserClients(1, []string{endpoint}, "", "", clientTLS)
	if err != nil {
		return err
	}
	defer closeClient()
	c := cs[0]
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Get(ctx, "bench-ready")
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("larch at %s did not become ready: %w", endpoint, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// newClients opens n clients of endpoints, each its own connection.
func newClients(n int, endpoints []string) ([]*clientv3.Client, func(), error) {
	return newUserClients(n, endpoints, "", "", nil)
}

// newUserClients opens n clients logged in as user (none if empty), over
// TLS if tlsConfig is set.
func newUserClients(n int, endpoints []string, user, password string, tlsConfig *tls.Config) ([]*clientv3.Client, func(), error) {
	clients := make([]*clientv3.Client, 0, n)
	closeAll := func() {
		for _, c := range clients {
			c.Close()
		}
	}
	for range n {
		c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
			Username: user, Password: password, TLS: tlsConfig})
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		clients = append(clients, c)
	}
	return clients, closeAll, nil
}

func newClient(endpoints []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
}

// benchFsync measures what one durable append costs on this disk: write
// size bytes at the end of a file, then fdatasync.
func benchFsync(dir string, size int) error {
	f, err := os.Create(filepath.Join(dir, "fsync.bench"))
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, size)
	const n = 500
	lat := make([]time.Duration, 0, n)
	start := time.Now()
	for range n {
		t := time.Now()
		if _, err := f.Write(buf); err != nil {
			return err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return err
		}
		lat = append(lat, time.Since(t))
	}
	report(fmt.Sprintf("fsync     write %dB+fdatasync", size), n, time.Since(start), lat)
	return nil
}

func benchKV(o options, endpoints []string, scenario string) error {
	clients, closeClients, err := newUserClients(o.conns, endpoints, o.user, o.password, o.tls)
	if err != nil {
		return err
	}
	defer closeClients()
	value := make([]byte, o.valSize)
	if _, err := rand.Read(value); err != nil {
		return err
	}
	key := func(i int) string {
		return fmt.Sprintf("%0*d", o.keySize, i%o.keySpace)
	}
	if scenario == "range" {
		// Fill the key space first so ranges find something.
		if err := load(clients, o.clients, o.keySpace, func(c *clientv3.Client, i int) error {
			ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
			defer cancel()
			_, err := c.Put(ctx, key(i), string(value))
			return err
		}, nil); err != nil {
			return err
		}
	}
	var opts []clientv3.OpOption
	if o.consist == "s" {
		opts = append(opts, clientv3.WithSerializable())
	}
	for _, nclients := range []int{1, o.clients} {
		total := o.total
		if nclients == 1 {
			total = min(o.total, 2000)
		}
		lat := make([]time.Duration, total)
		start := time.Now()
		err := load(clients, nclients, total, func(c *clientv3.Client, i int) error {
			ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
			defer cancel()
			t := time.Now()
			var err error
			if scenario == "put" {
				_, err = c.Put(ctx, key(i), string(value))
			} else {
				_, err = c.Get(ctx, key(i), opts...)
			}
			lat[i] = time.Since(t)
			return err
		}, progress(scenario, total))
		if err != nil {
			return err
		}
		label := scenario
		if o.user != "" {
			label = "auth" + scenario
		}
		if o.tls != nil {
			label = "tls" + scenario
		}
		name := fmt.Sprintf("%-9s clients=%d conns=%d", label, nclients, min(nclients, o.conns))
		if scenario == "range" {
			name += " consistency=" + o.consist
		}
		report(name, total, time.Since(start), lat)
	}
	return nil
}

// load runs total requests from n goroutines spread over the connections.
func load(clients []*clientv3.Client, n, total int, do func(*clientv3.Client, int) error, onDone func(int64)) error {
	return loadN(n, total, func(i int) error { return do(clients[i%len(clients)], i) }, onDone)
}

// loadN runs total requests, numbered 0..total-1, from n goroutines.
func loadN(n, total int, do func(int) error, onDone func(int64)) error {
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				if err := do(i); err != nil {
					errc <- err
					return
				}
				if d := done.Add(1); onDone != nil {
					onDone(d)
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return errors.Join(<-errc)
}

// progress prints a running count on a terminal and nothing otherwise.
func progress(name string, total int) func(int64) {
	if fi, err := os.Stderr.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	step := int64(max(total/100, 1))
	return func(d int64) {
		if d%step == 0 || d == int64(total) {
			fmt.Fprintf(os.Stderr, "\r%s: %d/%d", name, d, total)
			if d == int64(total) {
				fmt.Fprint(os.Stderr, "\r\033[K")
			}
		}
	}
}

func report(name string, n int, elapsed time.Duration, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	fmt.Printf("%-45s %9.0f req/s  avg %8s  p50 %8s  p90 %8s  p99 %8s  max %8s\n", name, float64(n)/elapsed.Seconds(),
		round(sum/time.Duration(len(lat))), round(pct(0.5)), round(pct(0.9)), round(pct(0.99)), round(lat[len(lat)-1]))
}

func round(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
