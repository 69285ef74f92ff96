// Command larch is the Larch server: one member of an etcd-compatible
// key-value cluster. It takes etcd's flags, a YAML config file with etcd's
// keys, or LARCH_* environment variables.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/cluster/discovery"
	"github.com/larchkv/larch/pki"
	"github.com/larchkv/larch/v2api"
	"github.com/larchkv/larch/v3api"
)

// Version is Larch's own version.
const Version = "0.1.0"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, warnings, err := parseConfig(args, os.Environ(), os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "larch: %v\n", err)
		return 2
	}
	if cfg.showVersion {
		fmt.Printf("larch Version: %s\netcd API Version: %s\nGo Version: %s\nGo OS/Arch: %s/%s\n",
			Version, v3api.ServerVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}
	r, err := cfg.resolve()
	if err != nil {
		fmt.Fprintf(os.Stderr, "larch: %v\n", err)
		return 2
	}
	level, _ := parseLevel(r.logLevel)
	out, closeLogs, err := logOutput(r.logOutputs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "larch: %v\n", err)
		return 2
	}
	defer closeLogs()
	logger := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)
	for _, w := range warnings {
		logger.Warn(w)
	}
	if err := serve(r, logger); err != nil {
		logger.Error("larch stopped", "error", err)
		return 1
	}
	return 0
}

func serve(r resolved, logger *slog.Logger) error {
	// Listen before starting the member, so a taken port fails fast and
	// leaves no half-started state behind.
	var clientLs, peerLs, metricsLs []net.Listener
	closeAll := func() {
		for _, l := range slices.Concat(clientLs, peerLs, metricsLs) {
			l.Close()
		}
	}
	if r.autoClient != nil || r.autoPeer != nil {
		stopRenewing, err := startAutoTLS(&r, logger)
		if err != nil {
			return err
		}
		defer stopRenewing()
	}
	clientTLS, err := serverTLS(r.clientTLS)
	if err != nil {
		return err
	}
	peerTLS, err := serverTLS(r.peerTLS)
	if err != nil {
		return err
	}
	for _, u := range r.listenURLs {
		l, err := listen(u, clientTLS)
		if err != nil {
			closeAll()
			return fmt.Errorf("listen on client URL %s: %w", u, err)
		}
		clientLs = append(clientLs, l)
	}
	for _, u := range r.metricsURLs {
		// etcd serves https metrics URLs with the client TLS.
		if u.Scheme == "https" && clientTLS == nil {
			closeAll()
			return fmt.Errorf("metrics URL %s is https but the client port has no TLS (--cert-file, --key-file)", u)
		}
		l, err := listen(u, clientTLS)
		if err != nil {
			closeAll()
			return fmt.Errorf("listen on metrics URL %s: %w", u, err)
		}
		metricsLs = append(metricsLs, l)
	}
	for _, u := range r.peerURLs {
		l, err := listen(u, peerTLS)
		if err != nil {
			closeAll()
			return fmt.Errorf("listen on peer URL %s: %w", u, err)
		}
		peerLs = append(peerLs, l)
	}
	if r.peerTLS != nil {
		// Members at https:// peer URLs are dialed with the peer certificate.
		if r.member.PeerDialTLS, err = r.peerTLS.Dialer(&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}); err != nil {
			closeAll()
			return err
		}
	}
	r.member.Logger = logger
	var pool *discovery.Pool
	if r.discovery != nil {
		if pool, err = discover(&r, logger); err != nil {
			closeAll()
			return stoppedWaiting(err, logger)
		}
		defer pool.Close()
	}
	if r.discoveryURL != "" {
		if err := discoverURL(&r, logger); err != nil {
			closeAll()
			return stoppedWaiting(err, logger)
		}
	}
	r.member.PeerListeners = peerLs
	member, err := cluster.NewServer(r.member)
	if err != nil {
		// NewServer closed the peer listeners.
		for _, l := range slices.Concat(clientLs, metricsLs) {
			l.Close()
		}
		return err
	}
	if pool != nil {
		pool.MarkStarted()
		// A member that joined by token starts as a learner and votes once
		// it has caught up; one restarted before that still must.
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := member.PromoteSelf(ctx, r.maxVoters); err != nil && ctx.Err() == nil {
				logger.Warn("learner not promoted", "error", err)
			}
		}()
		defer func() { cancel(); <-done }()
	}
	if r.initialCorruptCheck {
		ctx, cancel := context.WithTimeout(context.Background(), cluster.DefaultCorruptCheckTimeout)
		err := member.CheckInitialHashKV(ctx)
		cancel()
		if err != nil {
			for _, l := range slices.Concat(clientLs, metricsLs) {
				l.Close()
			}
			member.Stop()
			return err
		}
	}
	r.api.Logger = logger
	// etcd 3.5 serves v2 only with --enable-v2; Larch always does.
	v2 := v2api.New(member, v2api.Config{Logger: logger, ClientCertAuth: r.api.ClientCertAuth})
	r.api.Handlers = map[string]http.Handler{}
	for _, pattern := range v2.Patterns() {
		r.api.Handlers[pattern] = v2
	}
	api, err := v3api.New(member, r.api)
	if err != nil {
		for _, l := range slices.Concat(clientLs, metricsLs) {
			l.Close()
		}
		member.Stop()
		return err
	}
	errc := make(chan error, len(clientLs))
	for i, l := range clientLs {
		logger.Info("serving client traffic", "address", r.listenURLs[i].String())
		go func() { errc <- api.Serve(l) }()
	}
	metricsSrv := &http.Server{Handler: api.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	for i, l := range metricsLs {
		logger.Info("serving metrics", "address", r.metricsURLs[i].String())
		go func() { _ = metricsSrv.Serve(l) }()
	}
	defer metricsSrv.Close()

	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigc)
	var runErr error
	select {
	case sig := <-sigc:
		logger.Info("received signal, shutting down", "signal", sig.String())
	case runErr = <-member.Fatal():
	case runErr = <-errc:
		if runErr == nil {
			runErr = errors.New("client listener closed")
		}
	}
	api.Stop()
	member.Stop()
	logger.Info("stopped", "name", r.member.Name)
	if errors.Is(runErr, cluster.ErrRemoved) {
		// Like etcd, a removed member exits cleanly: there is nothing to
		// restart it for.
		return nil
	}
	return runErr
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error", "panic", "fatal":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("invalid value %q for --log-level: only supports debug, info, warn, error, panic, or fatal", s)
}

// serverTLS is the listeners' TLS configuration, nil without TLS.
func serverTLS(info *pki.TLSInfo) (*tls.Config, error) {
	if info == nil {
		return nil, nil
	}
	return info.ServerConfig()
}

// listen opens a URL's listener, with TLS for https.
func listen(u *url.URL, cfg *tls.Config) (net.Listener, error) {
	l, err := net.Listen("tcp", u.Host)
	if err != nil || u.Scheme != "https" {
		return l, err
	}
	return tls.NewListener(l, cfg), nil
}

// startAutoTLS issues the auto-TLS certificates (and the CA, without
// --pki-ca-dir), points the TLS settings at them, and renews them in the
// background until the returned stop is called.
func startAutoTLS(r *resolved, logger *slog.Logger) (stop func(), err error) {
	caDir, err := ensureAutoCA(r.caDir, r.member.DataDir, logger)
	if err != nil {
		return nil, err
	}
	var sides []autoTLS
	// The files are auto TLS's; every other TLS flag stays as given.
	if a := r.autoClient; a != nil {
		a.caDir = caDir
		var ca string
		r.clientTLS.CertFile, r.clientTLS.KeyFile, ca = a.files()
		// A trusted CA makes clients show certificates; auto TLS asks for
		// them only under --client-cert-auth (etcd's auto TLS never does).
		if r.clientTLS.ClientCertAuth {
			r.clientTLS.TrustedCAFile = ca
		}
		sides = append(sides, *a)
	}
	if a := r.autoPeer; a != nil {
		a.caDir = caDir
		r.peerTLS.CertFile, r.peerTLS.KeyFile, r.peerTLS.TrustedCAFile = a.files()
		sides = append(sides, *a)
	}
	for _, a := range sides {
		if err := a.ensure(logger); err != nil {
			return nil, err
		}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(autoCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				for _, a := range sides {
					if err := a.ensure(logger); err != nil {
						logger.Error("renewing an auto-TLS certificate failed", "profile", a.profile, "error", err)
					}
				}
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); <-stopped }, nil
}

// discover joins the discovery pool and, for a member with no data yet,
// waits for the initial cluster to form, or joins the running cluster it
// finds as a learner. A member with data restarts from it and only
// gossips, so that later members find the cluster through it.
func discover(r *resolved, logger *slog.Logger) (pool *discovery.Pool, err error) {
	d := *r.discovery
	d.Logger = logger
	if len(d.Token) < 16 {
		// The token keys the gossip's encryption: a short one can be
		// guessed offline from captured traffic.
		logger.Warn("the discovery token is short; `larchctl discovery new` makes one of 128 random bits", "length", len(d.Token))
	}
	hasData, err := cluster.HasData(r.member.DataDir)
	if err != nil {
		return nil, err
	}
	r.member.JoinKey = discovery.JoinKey(d.Token)
	if pool, err = discovery.Start(d, hasData); err != nil {
		return nil, err
	}
	if hasData {
		logger.Info("the data dir holds a member; restarting from it, not rediscovering", "data-dir", r.member.DataDir)
		return pool, nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := pool.Bootstrap(ctx)
	if err == nil && res.Running != nil {
		var through []string
		for _, m := range res.Running {
			through = append(through, m.PeerURLs...)
		}
		jctx, cancel := context.WithTimeout(ctx, d.Timeout)
		defer cancel()
		err = cluster.JoinAsLearner(jctx, &r.member, through, r.member.JoinKey)
	} else if err == nil {
		r.member.InitialCluster = nil
		for _, m := range res.InitialCluster {
			r.member.InitialCluster = append(r.member.InitialCluster, cluster.InitialMember{Name: m.Name, PeerURLs: m.PeerURLs})
		}
		r.member.InitialClusterToken, r.member.InitialClusterState = res.ClusterToken, "new"
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// discoverURL finds the initial cluster through etcd v2's URL discovery,
// unless the data dir already holds a member. As in etcd, the discovery
// URL is the cluster token, and member IDs hash it with the peer URLs.
func discoverURL(r *resolved, logger *slog.Logger) error {
	hasData, err := cluster.HasData(r.member.DataDir)
	if err != nil || hasData {
		return err
	}
	var self []string
	for _, u := range r.member.PeerURLs {
		self = append(self, r.member.Name+"="+u)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	initial, err := discovery.BootstrapURL(ctx, discovery.URLConfig{
		URL:    r.discoveryURL,
		ID:     cluster.ComputeMemberID(r.member.PeerURLs, r.discoveryURL).String(),
		Self:   strings.Join(self, ","),
		Logger: logger,
	})
	if err != nil {
		return err
	}
	if r.member.InitialCluster, err = parseInitialCluster(initial); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	r.member.InitialClusterToken, r.member.InitialClusterState = r.discoveryURL, "new"
	return nil
}

// stoppedWaiting turns a signal received while waiting for discovery into
// a clean stop; other errors pass.
func stoppedWaiting(err error, logger *slog.Logger) error {
	if errors.Is(err, context.Canceled) {
		logger.Info("stopped while waiting for discovery")
		return nil
	}
	return err
}

// logOutput opens --log-outputs: stderr ("default" too), stdout, or files
// appended to (created 0600: logs may name keys).
func logOutput(outputs []string) (io.Writer, func(), error) {
	var ws []io.Writer
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, o := range outputs {
		switch o {
		case "default", "stderr":
			ws = append(ws, os.Stderr)
		case "stdout":
			ws = append(ws, os.Stdout)
		default:
			f, err := os.OpenFile(o, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
			if err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("--log-outputs: %w", err)
			}
			files = append(files, f)
			ws = append(ws, f)
		}
	}
	return io.MultiWriter(ws...), closeAll, nil
}
