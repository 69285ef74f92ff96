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
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/soheilhy/cmux"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/etcdserverpb/gw"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/larchkv/larch/cluster"
)

// Versions reported on the wire. Larch speaks etcd 3.6's API; clients
// decide what they may use from these numbers.
const (
	ServerVersion  = "3.6.6"
	ClusterVersion = "3.6.0"
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
	// MaxRequestBytes bounds one request (--max-request-bytes).
	MaxRequestBytes int
	// QuotaBackendBytes is the space quota reported by Status (--quota-backend-bytes).
	QuotaBackendBytes int64
	// EnablePprof serves runtime profiles under /debug/pprof/ (--enable-pprof).
	EnablePprof bool
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
}

// Default limits, etcd's.
const (
	DefaultMaxTxnOps         = 128
	DefaultQuotaBackendBytes = 2 << 30
)

func (c *Config) validate() error {
	if c.MaxTxnOps == 0 {
		c.MaxTxnOps = DefaultMaxTxnOps
	}
	if c.MaxTxnOps < 0 {
		return fmt.Errorf("v3api: max txn ops %d is negative", c.MaxTxnOps)
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = cluster.DefaultMaxRequestBytes
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
	wg        sync.WaitGroup
}

// New builds the client API of member.
func New(member *cluster.Server, cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, member: member, logger: cfg.Logger}
	s.grpc = grpc.NewServer(
		grpc.ForceServerCodec(codec{}),
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
	pb.RegisterWatchServer(s.grpc, &pb.UnimplementedWatchServer{})
	pb.RegisterLeaseServer(s.grpc, &pb.UnimplementedLeaseServer{})
	pb.RegisterAuthServer(s.grpc, &authServer{s: s})

	s.loopback = bufconn.Listen(1 << 20)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.grpc.Serve(s.loopback)
	}()
	conn, err := grpc.NewClient("passthrough:///larch-gateway",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return s.loopback.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(codec{}), grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32)),
	)
	if err != nil {
		s.grpc.Stop()
		return nil, err
	}
	s.gwConn = conn
	gwmux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, newGatewayMarshaler()))
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
	mux.Handle("/v3/", corsHandler(gwmux))
	mux.HandleFunc("/version", s.serveVersion)
	mux.HandleFunc("/health", s.serveHealth)
	mux.HandleFunc("/livez", s.serveProbe)
	mux.HandleFunc("/readyz", s.serveProbe)
	mux.Handle("/metrics", promhttp.Handler())
	if cfg.EnablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn)}
	return s, nil
}

// Serve serves l until Stop. gRPC (HTTP/2 with content-type application/grpc)
// and everything else are told apart per connection, so one port serves both.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	m := cmux.New(l)
	grpcL := m.MatchWithWriters(cmux.HTTP2MatchHeaderFieldSendSettings("content-type", "application/grpc"))
	httpL := m.Match(cmux.Any())
	errc := make(chan error, 3)
	go func() { errc <- s.grpc.Serve(grpcL) }()
	go func() { errc <- s.http.Serve(httpL) }()
	go func() { errc <- m.Serve() }()
	err := <-errc
	if errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) || errors.Is(err, cmux.ErrListenerClosed) {
		return nil
	}
	return err
}

// Stop closes the listeners and ends every call in flight.
func (s *Server) Stop() {
	s.mu.Lock()
	for _, l := range s.listeners {
		l.Close()
	}
	s.mu.Unlock()
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.http.Shutdown(ctx)
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

// propose sends one request through Raft and returns its typed response.
func propose[T any](ctx context.Context, s *Server, r *pb.InternalRaftRequest) (T, error) {
	var zero T
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

func corsHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE")
		w.Header().Set("Access-Control-Allow-Headers", "accept, content-type, authorization")
		if r.Method == http.MethodOptions {
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	b, _ := json.Marshal(struct {
		Server  string `json:"etcdserver"`
		Cluster string `json:"etcdcluster"`
		Storage string `json:"storage"`
	}{ServerVersion, ClusterVersion, StorageVersion})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// serveHealth answers etcd's /health: healthy when a linearizable read
// succeeds, which needs a leader and a working quorum.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	type health struct {
		Health string `json:"health"`
		Reason string `json:"reason"`
	}
	h := health{Health: "true"}
	status := http.StatusOK
	ctx, cancel := context.WithTimeout(r.Context(), time.Second+2*s.member.RequestTimeout()/7)
	defer cancel()
	if s.member.Leader() == 0 {
		h = health{Health: "false", Reason: "RAFT NO LEADER"}
	} else if err := s.member.LinearizableReadNotify(ctx); err != nil {
		h = health{Health: "false", Reason: "RAFT NO LEADER"}
		if !errors.Is(err, cluster.ErrNoLeader) {
			h.Reason = "QGET ERROR: " + err.Error()
		}
	}
	if h.Health != "true" {
		status = http.StatusServiceUnavailable
	}
	b, _ := json.Marshal(h)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// serveProbe answers /livez and /readyz with etcd's plain-text checks.
func (s *Server) serveProbe(w http.ResponseWriter, r *http.Request) {
	checks := []string{"serializable_read"}
	if strings.HasSuffix(r.URL.Path, "readyz") {
		checks = []string{"data_corruption", "linearizable_read", "non_learner", "serializable_read"}
	}
	failed := ""
	if strings.HasSuffix(r.URL.Path, "readyz") {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		if err := s.member.LinearizableReadNotify(ctx); err != nil {
			failed = "linearizable_read"
		}
		cancel()
	}
	_, verbose := r.URL.Query()["verbose"]
	var b strings.Builder
	for _, c := range checks {
		if !verbose {
			break
		}
		if c == failed {
			fmt.Fprintf(&b, "[-]%s failed: reason withheld\n", c)
		} else {
			fmt.Fprintf(&b, "[+]%s ok\n", c)
		}
	}
	if failed != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(&b, "%s check failed\n", r.URL.Path[1:])
	} else {
		b.WriteString("ok\n")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}
