package v3api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/soheilhy/cmux"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/etcdserverpb/gw"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/larchkv/larch/cluster"
)

// Versions reported on the wire. Larch speaks etcd 3.6's API; clients
// decide what they may use from these numbers. The cluster version comes
// from the member (cluster.Server.ClusterVersion).
const (
	ServerVersion  = "3.6.6"
	StorageVersion = "3.6.0"
)

// streamWorkers is how many goroutines serve gRPC calls before more are
// started; calls mostly wait on Raft, so it is well above the core count.
const streamWorkers = 256

// grpcOverheadBytes is what etcd allows a gRPC message beyond
// --max-request-bytes for framing.
const grpcOverheadBytes = 512 * 1024

// Config tunes the client API.
type Config struct {
	// MaxTxnOps bounds the operations of one txn (--max-txn-ops).
	MaxTxnOps int
	// ClientCertAuth (--client-cert-auth): a request without a token is
	// made by the user its verified client certificate names (etcd's rule).
	ClientCertAuth bool
	// MaxRequestBytes bounds one request (--max-request-bytes).
	MaxRequestBytes int
	// QuotaBackendBytes is the space quota (--quota-backend-bytes): 0 takes
	// DefaultQuotaBackendBytes, a negative value disables it, as in etcd.
	QuotaBackendBytes int64
	// WatchProgressNotifyInterval is how often watchers that asked for
	// progress notifications get one when idle (etcd's 10 minutes).
	WatchProgressNotifyInterval time.Duration
	// EnablePprof serves runtime profiles under /debug/pprof/ (--enable-pprof).
	EnablePprof bool
	// Handlers are more HTTP handlers for the client port, by mux pattern
	// (the v2 API's, for one). They are served like the built-in ones.
	Handlers map[string]http.Handler
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
}

// Default limits, etcd's.
const (
	DefaultMaxTxnOps         = 128
	DefaultQuotaBackendBytes = 2 << 30
)

// DefaultWatchProgressNotifyInterval is etcd's.
const DefaultWatchProgressNotifyInterval = 10 * time.Minute

func (c *Config) validate() error {
	if c.WatchProgressNotifyInterval == 0 {
		c.WatchProgressNotifyInterval = DefaultWatchProgressNotifyInterval
	}
	if c.MaxTxnOps == 0 {
		c.MaxTxnOps = DefaultMaxTxnOps
	}
	if c.MaxTxnOps < 0 {
		return fmt.Errorf("v3api: max txn ops %d is negative", c.MaxTxnOps)
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = cluster.DefaultMaxRequestBytes
	}
	if c.MaxRequestBytes < 0 {
		return fmt.Errorf("v3api: max request bytes %d is negative", c.MaxRequestBytes)
	}
	if c.QuotaBackendBytes == 0 {
		c.QuotaBackendBytes = DefaultQuotaBackendBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Server serves one member's client port: etcd's gRPC services, the JSON
// gateway and the plain HTTP endpoints, all on the same listeners.
type Server struct {
	cfg    Config
	member *cluster.Server
	logger *slog.Logger

	grpc *grpc.Server
	http *http.Server
	// loopback carries the gateway's calls into the gRPC server in process.
	loopback *bufconn.Listener
	gwConn   *grpc.ClientConn

	mu        sync.Mutex // guards listeners
	listeners []net.Listener
	stopc     chan struct{}
	stopOnce  sync.Once
	wg        sync.WaitGroup
}

// New builds the client API of member.
func New(member *cluster.Server, cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, member: member, logger: cfg.Logger, stopc: make(chan struct{})}
	s.grpc = grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcMetrics.UnaryServerInterceptor(), s.unaryLearnerCheck),
		grpc.ChainStreamInterceptor(grpcMetrics.StreamServerInterceptor(), s.streamLearnerCheck),
		grpc.ForceServerCodec(codec{}),
		grpc.Creds(tlsPassthrough{}),
		grpc.MaxRecvMsgSize(cfg.MaxRequestBytes+grpcOverheadBytes),
		grpc.MaxSendMsgSize(math.MaxInt32),
		grpc.MaxConcurrentStreams(math.MaxUint32),
		// Reusing handler goroutines spares every call the growth of a
		// fresh goroutine's stack, which is a tenth of a put's CPU.
		grpc.NumStreamWorkers(streamWorkers),
	)
	pb.RegisterKVServer(s.grpc, &kvServer{s: s})
	pb.RegisterMaintenanceServer(s.grpc, &maintenanceServer{s: s})
	pb.RegisterClusterServer(s.grpc, &clusterServer{s: s})
	pb.RegisterWatchServer(s.grpc, &watchServer{s: s})
	pb.RegisterLeaseServer(s.grpc, &leaseServer{s: s})
	pb.RegisterAuthServer(s.grpc, &authServer{s: s})
	grpcMetrics.InitializeMetrics(s.grpc)

	s.loopback = bufconn.Listen(1 << 20)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.grpc.Serve(s.loopback)
	}()
	conn, err := grpc.NewClient("passthrough:///larch-gateway",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return s.loopback.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(gatewayCodec{}), grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32)),
	)
	if err != nil {
		s.grpc.Stop()
		return nil, err
	}
	s.gwConn = conn
	gwmux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, newGatewayMarshaler()), runtime.WithErrorHandler(gatewayErrorHandler))
	ctx := context.Background()
	for _, register := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		gw.RegisterKVHandler, gw.RegisterWatchHandler, gw.RegisterLeaseHandler,
		gw.RegisterClusterHandler, gw.RegisterMaintenanceHandler, gw.RegisterAuthHandler,
	} {
		if err := register(ctx, gwmux, conn); err != nil {
			s.Stop()
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/v3/", gwmux)
	mux.HandleFunc("/version", s.serveVersion)
	mux.HandleFunc("/health", s.serveHealth)
	s.handleProbes(mux)
	mux.Handle("/metrics", promhttp.Handler())
	for pattern, h := range cfg.Handlers {
		mux.Handle(pattern, h)
	}
	if cfg.EnablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	s.http = &http.Server{Handler: tlsHandler(accessHandler(mux)), ConnContext: withConn, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn)}
	s.http.Protocols = new(http.Protocols)
	s.http.Protocols.SetHTTP1(true)
	s.http.Protocols.SetUnencryptedHTTP2(true)
	return s, nil
}

// Serve serves l until Stop. gRPC (HTTP/2 with content-type application/grpc)
// and everything else are told apart per connection, so one port serves both.
//
// Like etcd, it serves nothing before the member is ready (caught up with
// its log after a start): a client connecting earlier waits.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	select {
	case <-s.stopc:
		s.mu.Unlock()
		l.Close()
		return nil
	default:
	}
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	select {
	case <-s.member.ReadyNotify():
	case <-s.member.Stopping():
		return nil
	case <-s.stopc:
		return nil
	}
	// cmux holds a connection until its first request shows which server
	// gets it; an idle client stays there, and cmux's Serve waits for it.
	// Tracking the connections until they are matched lets Stop close
	// those, while the servers drain the others.
	tl := &trackingListener{Listener: l, conns: map[net.Conn]struct{}{}}
	m := cmux.New(tl)
	grpcL := matchedListener{m.MatchWithWriters(cmux.HTTP2MatchHeaderFieldPrefixSendSettings("content-type", "application/grpc")), tl}
	// HTTP/2 that is not gRPC (ALPN gives h2 to curl over TLS) goes to the
	// HTTP server too, which speaks HTTP/2 on connections it gets with the
	// TLS already removed.
	h2L := h2Listener{matchedListener{m.Match(cmux.HTTP2()), tl}}
	httpL := matchedListener{m.Match(cmux.Any()), tl}
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	for _, serve := range []func() error{
		func() error { return s.grpc.Serve(grpcL) },
		func() error { return s.http.Serve(h2L) },
		func() error { return s.http.Serve(httpL) },
		m.Serve,
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- serve()
		}()
	}
	// The first to return ends the others: closing the listener and the
	// multiplexer makes every Accept fail.
	err := <-errc
	l.Close()
	tl.closeAll()
	m.Close()
	wg.Wait()
	if errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) || errors.Is(err, cmux.ErrListenerClosed) || errors.Is(err, cmux.ErrServerClosed) {
		return nil
	}
	return err
}

// matchedListener is a cmux listener whose connections stop being
// tracked once matched: their server owns them from then on.
type matchedListener struct {
	net.Listener
	tl *trackingListener
}

func (l matchedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if mc, ok := c.(*cmux.MuxConn); ok && err == nil {
		if tc, ok := mc.Conn.(*trackedConn); ok {
			l.tl.forget(tc)
		}
	}
	return c, err
}

// trackingListener remembers the connections it accepted until they are
// matched or closed.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex // guards conns and closed
	conns  map[net.Conn]struct{}
	closed bool
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	l.closed = true
	conns := l.conns
	l.conns = map[net.Conn]struct{}{}
	l.mu.Unlock()
	for c := range conns {
		c.(*trackedConn).Conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (l *trackingListener) forget(c *trackedConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.l.forget(c) })
	return c.Conn.Close()
}

// Stop closes the listeners and ends every call in flight.
func (s *Server) Stop() {
	s.stopOnce.Do(func() { close(s.stopc) })
	s.mu.Lock()
	for _, l := range s.listeners {
		l.Close()
	}
	s.mu.Unlock()
	if s.http != nil {
		// An idle HTTP/2 client (curl, a scraper over TLS) holds Shutdown
		// for net/http's one-second GOAWAY grace; Stop waits that out
		// rather than cut requests in flight.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := s.http.Shutdown(ctx); err != nil {
			s.http.Close()
		}
		cancel()
	}
	if s.gwConn != nil {
		s.gwConn.Close()
	}
	s.grpc.Stop()
	s.wg.Wait()
}

func (s *Server) fillHeader(h *pb.ResponseHeader) {
	h.ClusterId = uint64(s.member.ClusterID())
	h.MemberId = uint64(s.member.ID())
	h.RaftTerm = s.member.Term()
	if h.Revision == 0 {
		h.Revision = s.member.KV().Rev()
	}
}

// A learner serves only what cannot change the state or need a quorum:
// Status and serializable ranges (etcd's isRPCSupportedForLearner), and
// among the streams only Snapshot.
func (s *Server) unaryLearnerCheck(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if s.member.IsLearner() {
		switch r := req.(type) {
		case *pb.StatusRequest:
		case *pb.RangeRequest:
			if !r.Serializable {
				return nil, rpctypes.ErrGRPCNotSupportedForLearner
			}
		default:
			return nil, rpctypes.ErrGRPCNotSupportedForLearner
		}
	}
	return handler(ctx, req)
}

func (s *Server) streamLearnerCheck(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if s.member.IsLearner() && info.FullMethod != "/etcdserverpb.Maintenance/Snapshot" {
		return rpctypes.ErrGRPCNotSupportedForLearner
	}
	return handler(srv, ss)
}

// propose sends one request through Raft and returns its typed response.
func propose[T any](ctx context.Context, s *Server, r *pb.InternalRaftRequest) (T, error) {
	var zero T
	c, err := s.callerOf(ctx)
	if err != nil {
		return zero, togRPCError(err)
	}
	// The apply loop checks the caller against the auth state there.
	r.Header = &pb.RequestHeader{Username: c.user, AuthRevision: c.rev}
	ctx, cancel := context.WithTimeout(ctx, s.member.RequestTimeout())
	defer cancel()
	res, err := s.member.Propose(ctx, r)
	if err != nil {
		return zero, togRPCError(err)
	}
	if res.Err != nil {
		return zero, togRPCError(res.Err)
	}
	resp, ok := res.Resp.(T)
	if !ok {
		return zero, togRPCError(fmt.Errorf("v3api: apply returned %T for %T", res.Resp, zero))
	}
	return resp, nil
}

// accessHandler is what etcd puts in front of every HTTP path of the client
// port: /v3beta/ is an alias of /v3/, every answer carries the CORS
// headers, and OPTIONS is answered 200 on any path.
func accessHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL != nil && strings.HasPrefix(r.URL.Path, "/v3beta/") {
			r.URL.Path = strings.Replace(r.URL.Path, "/v3beta/", "/v3/", 1)
		}
		w.Header().Add("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE")
		w.Header().Add("Access-Control-Allow-Origin", "*")
		w.Header().Add("Access-Control-Allow-Headers", "accept, content-type, authorization")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusOK)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// allowMethod answers 405 with an Allow header, as etcd's plain HTTP
// endpoints do, unless r uses method.
func allowMethod(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
	return false
}

func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r, http.MethodGet) {
		return
	}
	// Until every member published itself, etcd has no cluster version.
	cv := s.member.ClusterVersion()
	if cv == "" {
		cv = "not_decided"
	}
	b, _ := json.Marshal(struct {
		Server  string `json:"etcdserver"`
		Cluster string `json:"etcdcluster"`
		Storage string `json:"storage"`
	}{ServerVersion, cv, StorageVersion})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// serveHealth answers etcd's /health: healthy when no alarm is raised
// (but those named by ?exclude=NOSPACE…), there is a leader and a read
// succeeds, linearizable unless ?serializable=true, which also skips the
// leader check. The JSON goes out as text/plain, as etcd's does.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r, http.MethodGet) {
		return
	}
	type health struct {
		Health string `json:"health"`
		Reason string `json:"reason"`
	}
	serializable := r.URL.Query().Get("serializable") == "true"
	h := health{Health: "true"}
	if alarm := s.firstAlarm(r.URL.Query()["exclude"]); alarm != "" {
		h = health{Health: "false", Reason: "ALARM " + alarm}
	} else if !serializable && s.member.Leader() == 0 {
		h = health{Health: "false", Reason: "RAFT NO LEADER"}
	} else if err := s.readCheck(r.Context(), serializable); err != nil {
		h = health{Health: "false", Reason: "RANGE ERROR:" + err.Error()}
	}
	b, _ := json.Marshal(h)
	if h.Health != "true" {
		http.Error(w, string(b), http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write(b) // no Content-Type: etcd's is sniffed, text/plain
}

// firstAlarm names the first raised alarm not excluded, "" if none.
func (s *Server) firstAlarm(excluded []string) string {
	for _, a := range s.member.Alarms() {
		name := a.Type.String()
		if slices.Contains(excluded, name) {
			continue
		}
		if a.Type != pb.AlarmType_NOSPACE && a.Type != pb.AlarmType_CORRUPT {
			return "UNKNOWN"
		}
		return name
	}
	return ""
}

// readCheck is the read etcd's health checks make: a linearizable one
// waits for the read index, within the request timeout.
func (s *Server) readCheck(ctx context.Context, serializable bool) error {
	if serializable {
		return nil // the local store always answers
	}
	ctx, cancel := context.WithTimeout(ctx, s.member.RequestTimeout())
	defer cancel()
	if err := s.member.LinearizableReadNotify(ctx); err != nil {
		// etcd reports its server error, which is the status message.
		return errors.New(status.Convert(togRPCError(err)).Message())
	}
	return nil
}

// probe is one named check of /livez or /readyz.
type probe struct {
	name  string
	check func(context.Context) error
}

// handleProbes serves etcd's /livez and /readyz, each with its checks also
// reachable one by one as /livez/<check> and /readyz/<check>.
// MetricsHandler serves what --listen-metrics-urls answers, as in etcd:
// /metrics and /health (and the probes /livez and /readyz).
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	mux.HandleFunc("/health", s.serveHealth)
	s.handleProbes(mux)
	return mux
}

func (s *Server) handleProbes(mux *http.ServeMux) {
	serializable := probe{"serializable_read", func(ctx context.Context) error { return s.readCheck(ctx, true) }}
	for _, reg := range []struct {
		path   string
		probes []probe
	}{
		{"/livez", []probe{serializable}},
		{"/readyz", []probe{
			{"data_corruption", func(context.Context) error {
				if s.member.HasAlarm(pb.AlarmType_CORRUPT) {
					return errors.New("alarm activated: CORRUPT")
				}
				return nil
			}},
			{"linearizable_read", func(ctx context.Context) error { return s.readCheck(ctx, false) }},
			{"non_learner", func(context.Context) error {
				if s.member.IsLearner() {
					return errors.New("not supported for learner")
				}
				return nil
			}},
			serializable,
		}},
	} {
		probes := reg.probes
		mux.HandleFunc(reg.path, func(w http.ResponseWriter, r *http.Request) {
			excluded := map[string]bool{}
			for _, name := range r.URL.Query()["exclude"] {
				excluded[name] = true
			}
			var run []probe
			for _, p := range probes {
				if !excluded[p.name] {
					run = append(run, p)
				}
			}
			serveProbes(w, r, run)
		})
		for _, p := range probes {
			mux.HandleFunc(reg.path+"/"+p.name, func(w http.ResponseWriter, r *http.Request) {
				serveProbes(w, r, []probe{p})
			})
		}
	}
}

// serveProbes runs probes and answers as etcd does: "ok", after the list of
// checks with ?verbose; on a failure 503 with the list, failures explained.
func serveProbes(w http.ResponseWriter, r *http.Request, probes []probe) {
	if !allowMethod(w, r, http.MethodGet) {
		return
	}
	var b strings.Builder
	failed := false
	for _, p := range probes {
		if err := p.check(r.Context()); err != nil {
			fmt.Fprintf(&b, "[-]%s failed: %v\n", p.name, err)
			failed = true
		} else {
			fmt.Fprintf(&b, "[+]%s ok\n", p.name)
		}
	}
	if failed {
		http.Error(w, b.String(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		_, _ = w.Write([]byte(b.String()))
	}
	_, _ = w.Write([]byte("ok\n"))
}
