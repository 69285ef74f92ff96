package discovery

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// etcd v2's URL discovery (--discovery URL), as etcd 3.5 and earlier
// speak it, against any server of the v2 keys API (a running Larch
// among them). The URL names a directory: <dir>/_config/size holds the
// cluster's size; each member registers <dir>/<member ID in hex> =
// "name=peerURL,..." with prevExist=false; the first size registrations,
// by creation index, are the initial cluster, and the rest are refused.

// etcd's texts for URL discovery's errors.
var (
	ErrSizeNotFound         = errors.New("discovery: size key not found")
	ErrBadSizeKey           = errors.New("discovery: size key is bad")
	ErrDuplicateID          = errors.New("discovery: found duplicate id")
	ErrBadDiscoveryEndpoint = errors.New("discovery: bad discovery endpoint")
	ErrInvalidURL           = errors.New("discovery: invalid URL")
	// ErrFullCluster is etcd's "cluster is full": the directory already
	// lists size other members.
	ErrFullCluster = ErrClusterFull
)

// URLConfig is what a member needs for URL discovery.
type URLConfig struct {
	// URL is --discovery: a v2 keys API directory, such as
	// http://host:2379/v2/keys/discovery/<token>.
	URL string
	// ID is the member's ID in hex, as etcd computes it for URL discovery
	// (its peer URLs hashed with the discovery URL as the cluster token).
	ID string
	// Self is the member's entry: "name=peerURL1,name=peerURL2".
	Self string
	// Client makes the requests; nil means one with no overall timeout
	// (waits are long polls).
	Client *http.Client
	Logger *slog.Logger
}

// BootstrapURL registers this member in the discovery directory and
// waits for the initial cluster, which it returns in --initial-cluster's
// form. A member already registered with the same entry (it stopped before
// its cluster started) takes its place again.
func BootstrapURL(ctx context.Context, cfg URLConfig) (string, error) {
	d, err := newURLDiscovery(cfg)
	if err != nil {
		return "", err
	}
	var nodes []v2Node
	var size int
	var index uint64
	list := func() (err error) {
		nodes, size, index, err = d.list(ctx)
		return err
	}
	if err := d.retry(ctx, "cluster status check", list); err != nil {
		return "", err
	}
	if err := d.checkRoom(nodes, size); err != nil {
		return "", err
	}
	if err := d.retry(ctx, "registering", func() error { return d.register(ctx) }); err != nil {
		return "", err
	}
	for {
		if err := d.retry(ctx, "waiting for other nodes", list); err != nil {
			return "", err
		}
		if err := d.checkRoom(nodes, size); err != nil {
			return "", err
		}
		if len(nodes) >= size {
			return clusterString(nodes[:size], size)
		}
		d.logger.Info("found peers from the discovery service; waiting for more", "discovery-url", cfg.URL, "found-peers", len(nodes), "needed-peers", size-len(nodes))
		if err := d.waitChange(ctx, index); err != nil {
			return "", err
		}
	}
}

// urlBackoff is how long URL discovery waits before its retry-th attempt
// after an error of the network or the service: etcd's 2^retry seconds,
// at most 2^8. Tests shorten it.
var urlBackoff = func(retry int) time.Duration { return time.Duration(1<<min(retry, 8)) * time.Second }

// errUnavailable marks answers the service gives while it is not well
// (5xx), which are waited out like network errors.
var errUnavailable = errors.New("discovery: service unavailable")

// retry runs f until it succeeds, fails with an answer of the service, or
// ctx ends. As etcd, network errors and 5xx are retried with backoff.
func (d *urlDiscovery) retry(ctx context.Context, step string, f func() error) error {
	for retry := 1; ; retry++ {
		err := f()
		var netErr net.Error
		var urlErr *url.Error
		if err == nil || ctx.Err() != nil || !(errors.Is(err, errUnavailable) || errors.As(err, &netErr) || errors.As(err, &urlErr)) {
			return err
		}
		backoff := urlBackoff(retry)
		d.logger.Info("retry connecting to discovery service", "url", d.cfg.URL, "reason", step, "backoff", backoff, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
	}
}

type urlDiscovery struct {
	cfg    URLConfig
	logger *slog.Logger
	// keys is the directory's URL on the keys API.
	keys *url.URL
}

func newURLDiscovery(cfg URLConfig) (*urlDiscovery, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return nil, fmt.Errorf("%w: %q", ErrInvalidURL, cfg.URL)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &urlDiscovery{cfg: cfg, logger: cfg.Logger, keys: u}, nil
}

func (d *urlDiscovery) at(key string, query url.Values) string {
	u := *d.keys
	if key != "" {
		u.Path = path.Join(u.Path, key)
	}
	u.RawQuery = query.Encode()
	return u.String()
}

// v2Node is a node of the v2 keys API's JSON.
type v2Node struct {
	Key           string   `json:"key"`
	Value         string   `json:"value"`
	Dir           bool     `json:"dir"`
	Nodes         []v2Node `json:"nodes"`
	CreatedIndex  uint64   `json:"createdIndex"`
	ModifiedIndex uint64   `json:"modifiedIndex"`
}

type v2Response struct {
	Node      *v2Node `json:"node"`
	ErrorCode int     `json:"errorCode"`
	Message   string  `json:"message"`
}

// v2 keys API error codes discovery tells apart.
const (
	v2KeyNotFound = 100
	v2NodeExist   = 105
)

// do sends one request and decodes the v2 answer; index is X-Etcd-Index.
func (d *urlDiscovery) do(ctx context.Context, method, target string, form url.Values) (v2Response, uint64, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return v2Response{}, 0, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return v2Response{}, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 {
		return v2Response{}, 0, fmt.Errorf("%w: %s %s: %s", errUnavailable, method, target, resp.Status)
	}
	var r v2Response
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&r); err != nil {
		return r, 0, fmt.Errorf("%w: %s %s: %v", ErrBadDiscoveryEndpoint, method, target, err)
	}
	index, _ := strconv.ParseUint(resp.Header.Get("X-Etcd-Index"), 10, 64)
	return r, index, nil
}

// list reads the size and the registered members, oldest first, and the
// index to watch for changes after.
func (d *urlDiscovery) list(ctx context.Context) ([]v2Node, int, uint64, error) {
	r, _, err := d.do(ctx, http.MethodGet, d.at("_config/size", nil), nil)
	switch {
	case err != nil:
		return nil, 0, 0, err
	case r.ErrorCode == v2KeyNotFound:
		return nil, 0, 0, ErrSizeNotFound
	case r.ErrorCode != 0 || r.Node == nil:
		return nil, 0, 0, fmt.Errorf("%w: %s", ErrBadDiscoveryEndpoint, r.Message)
	}
	size, err := strconv.Atoi(r.Node.Value)
	if err != nil || size < 1 {
		return nil, 0, 0, ErrBadSizeKey
	}
	r, index, err := d.do(ctx, http.MethodGet, d.at("", nil), nil)
	if err != nil {
		return nil, 0, 0, err
	}
	if r.ErrorCode != 0 || r.Node == nil {
		return nil, 0, 0, fmt.Errorf("%w: %s", ErrBadDiscoveryEndpoint, r.Message)
	}
	var nodes []v2Node
	for _, n := range r.Node.Nodes {
		if path.Base(n.Key) != "_config" && !n.Dir {
			nodes = append(nodes, n)
		}
	}
	slices.SortFunc(nodes, func(a, b v2Node) int { return cmp.Compare(a.CreatedIndex, b.CreatedIndex) })
	return nodes, size, index, nil
}

// checkRoom refuses a member that is not among the first size entries,
// when size others are there (etcd's "cluster is full").
func (d *urlDiscovery) checkRoom(nodes []v2Node, size int) error {
	for i, n := range nodes {
		if path.Base(n.Key) == d.cfg.ID {
			return nil
		}
		if i >= size-1 {
			return fmt.Errorf("%w: the discovery URL lists %d members already", ErrFullCluster, size)
		}
	}
	return nil
}

func (d *urlDiscovery) register(ctx context.Context) error {
	r, _, err := d.do(ctx, http.MethodPut, d.at(d.cfg.ID, url.Values{"prevExist": {"false"}}), url.Values{"value": {d.cfg.Self}})
	switch {
	case err != nil:
		return err
	case r.ErrorCode == v2NodeExist:
		// Registered before, if with this entry: take the place again.
		cur, _, err := d.do(ctx, http.MethodGet, d.at(d.cfg.ID, nil), nil)
		if err == nil && cur.Node != nil && cur.Node.Value == d.cfg.Self {
			return nil
		}
		return ErrDuplicateID
	case r.ErrorCode != 0:
		return fmt.Errorf("%w: %s", ErrBadDiscoveryEndpoint, r.Message)
	}
	d.logger.Info("registered with the discovery service", "discovery-url", d.cfg.URL, "id", d.cfg.ID)
	return nil
}

// waitChange long-polls the directory for a change after index. Any
// answer ends the wait, an error too (an event cleared from the history,
// the service restarting): the caller lists the directory again.
func (d *urlDiscovery) waitChange(ctx context.Context, index uint64) error {
	q := url.Values{"wait": {"true"}, "recursive": {"true"}, "waitIndex": {strconv.FormatUint(index+1, 10)}}
	if _, _, err := d.do(ctx, http.MethodGet, d.at("", q), nil); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.logger.Warn("waiting on the discovery service", "discovery-url", d.cfg.URL, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return nil
}

// clusterString joins the entries into --initial-cluster's form; two
// entries with one name are etcd's "found duplicate name".
func clusterString(nodes []v2Node, size int) (string, error) {
	var parts []string
	names := map[string]bool{}
	for _, n := range nodes {
		parts = append(parts, n.Value)
		for _, entry := range strings.Split(n.Value, ",") {
			name, _, ok := strings.Cut(entry, "=")
			if !ok {
				return "", fmt.Errorf("%w: entry %q", ErrInvalidURL, n.Value)
			}
			names[name] = true
		}
	}
	if len(names) != size {
		return "", fmt.Errorf("%w: %s", ErrDuplicateNameURL, strings.Join(parts, ","))
	}
	return strings.Join(parts, ","), nil
}

// ErrDuplicateNameURL is etcd's "found duplicate name" of URL discovery:
// two registered members share a name.
var ErrDuplicateNameURL = errors.New("discovery: found duplicate name")
