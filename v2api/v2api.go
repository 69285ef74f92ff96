package v2api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/tree"
)

// Config configures the v2 handlers.
type Config struct {
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock TTLs are computed from; nil means time.Now.
	Now func() time.Time
	// ClientCertAuth (--client-cert-auth): a request without an
	// Authorization header is made by the user its verified client
	// certificate names.
	ClientCertAuth bool
}

func (c *Config) validate() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Handler serves the v2 API. Mount it on its Patterns.
type Handler struct {
	member    *cluster.Server
	logger    *slog.Logger
	now       func() time.Time
	startTime time.Time
	// certAuth is Config.ClientCertAuth.
	certAuth bool
}

var _ http.Handler = (*Handler)(nil)

// New returns the v2 handlers of member.
func New(member *cluster.Server, cfg Config) *Handler {
	cfg.validate()
	return &Handler{member: member, logger: cfg.Logger, now: cfg.Now, startTime: cfg.Now(), certAuth: cfg.ClientCertAuth}
}

// Patterns are the net/http.ServeMux patterns to mount the handler on:
// exactly etcd's v2 paths, so that anything else under /v2 gets the same
// 404 (or clean-path redirect) as from etcd.
func (h *Handler) Patterns() []string {
	return []string{
		keysPrefix, keysPrefix + "/", membersPrefix, membersPrefix + "/",
		"/v2/machines", "/v2/stats/self", "/v2/stats/leader", "/v2/stats/store",
		authPrefix + "/enable", authPrefix + "/users", authPrefix + "/users/",
		authPrefix + "/roles", authPrefix + "/roles/",
	}
}

// Path prefixes, etcd's.
const (
	keysPrefix    = "/v2/keys"
	membersPrefix = "/v2/members"
)

// ServeHTTP routes as etcd's mux does: /v2/keys, /v2/members,
// /v2/auth/users and /v2/auth/roles with or without a subpath, the others
// exactly; anything else is 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == keysPrefix || strings.HasPrefix(p, keysPrefix+"/"):
		h.serveKeys(w, r)
	case p == membersPrefix || strings.HasPrefix(p, membersPrefix+"/"):
		h.serveMembers(w, r)
	case p == "/v2/machines":
		h.serveMachines(w, r)
	case p == "/v2/stats/self":
		h.serveStatsSelf(w, r)
	case p == "/v2/stats/leader":
		h.serveStatsLeader(w, r)
	case p == "/v2/stats/store":
		h.serveStatsStore(w, r)
	case p == authPrefix+"/enable" || p == authPrefix+"/users" || strings.HasPrefix(p, authPrefix+"/users/") ||
		p == authPrefix+"/roles" || strings.HasPrefix(p, authPrefix+"/roles/"):
		h.serveAuth(w, r)
	default:
		http.NotFound(w, r)
	}
}

// allowMethod answers 405 with etcd's Allow list (comma-joined, no spaces)
// unless r uses one of methods.
func allowMethod(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ","))
	http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
	return false
}

// writeKeyError writes a keys error as etcd does: a *tree.Error as is,
// anything else (cluster errors) as 300 with etcd's error text.
func writeKeyError(w http.ResponseWriter, err error) {
	var te *tree.Error
	if !errors.As(err, &te) {
		te = tree.NewError(tree.EcodeRaftInternal, etcdErrorText(err), 0)
	}
	b, _ := json.Marshal(te)
	w.Header().Add("X-Etcd-Index", fmt.Sprint(te.Index))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(te.StatusCode())
	w.Write(append(b, '\n'))
}

// etcdErrorText is etcd's text for a cluster error (the cause of a 300).
func etcdErrorText(err error) string {
	switch {
	case errors.Is(err, cluster.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "etcdserver: request timed out"
	case errors.Is(err, cluster.ErrStopped):
		return "etcdserver: server stopped"
	case errors.Is(err, cluster.ErrNoLeader):
		return "etcdserver: no leader"
	case errors.Is(err, cluster.ErrRequestTooLarge):
		return "etcdserver: request is too large"
	case errors.Is(err, context.Canceled):
		return "context canceled"
	}
	return err.Error()
}

// writeMessage writes etcd's httptypes.HTTPError: {"message":…} with no
// trailing newline.
func writeMessage(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}
