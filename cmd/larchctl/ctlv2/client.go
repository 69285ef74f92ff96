package ctlv2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	client "go.etcd.io/etcd/client/v2"
	"golang.org/x/sys/unix"
)

// defaultEndpoints is used when no flag or environment variable names an endpoint.
const defaultEndpoints = "http://127.0.0.1:2379,http://127.0.0.1:4001"

// defaultDialTimeout caps connection setup; --total-timeout lowers it.
const defaultDialTimeout = 30 * time.Second

// endpointList returns the endpoints from the flags and environment, first non-empty of
// --endpoints, ETCDCTL_ENDPOINTS, --endpoint, ETCDCTL_ENDPOINT, --peers, ETCDCTL_PEERS.
func (c *ctl) endpointList() []string {
	sources := []string{
		c.global.String("endpoints"), c.env.Getenv("ETCDCTL_ENDPOINTS"),
		c.global.String("endpoint"), c.env.Getenv("ETCDCTL_ENDPOINT"),
		c.global.String("peers"), c.env.Getenv("ETCDCTL_PEERS"),
	}
	for _, s := range sources {
		if s != "" {
			return strings.Split(s, ",")
		}
	}
	return strings.Split(defaultEndpoints, ",")
}

// discovery returns the SRV domain, whether insecure results are kept, and the service
// name suffix.
func (c *ctl) discovery() (domain string, insecure bool, service string) {
	domain = c.global.String("discovery-srv")
	if domain == "" {
		domain = c.env.Getenv("ETCDCTL_DISCOVERY_SRV")
	}
	insecure = c.global.Bool("insecure-discovery") || c.env.Getenv("ETCDCTL_INSECURE_DISCOVERY") != ""
	service = c.env.Getenv("ETCDCTL_DISCOVERY_SRV_NAME")
	return domain, insecure, service
}

// endpoints resolves the endpoints: SRV discovery when configured and fruitful,
// otherwise the flags; scheme-less URLs get http://.
func (c *ctl) endpoints() ([]string, error) {
	var eps []string
	if domain, insecure, service := c.discovery(); domain != "" {
		found, err := client.NewSRVDiscover().Discover(domain, service)
		if err != nil {
			return nil, err
		}
		for _, ep := range found {
			if !insecure && strings.HasPrefix(ep, "http://") {
				fmt.Fprintf(c.env.Stderr, "ignoring discovered insecure endpoint %q\n", ep)
				continue
			}
			eps = append(eps, ep)
		}
	}
	if len(eps) == 0 {
		eps = c.endpointList()
	}
	for i, ep := range eps {
		u, err := url.Parse(ep)
		if err != nil {
			return nil, err
		}
		if u.Scheme == "" {
			u.Scheme = "http"
		}
		eps[i] = u.String()
	}
	return eps, nil
}

// transport builds the HTTP transport from the TLS flags and environment.
func (c *ctl) transport() (*http.Transport, error) {
	pick := func(flag, env string) string {
		if v := c.global.String(flag); v != "" {
			return v
		}
		return c.env.Getenv(env)
	}
	domain, insecure, _ := c.discovery()
	if insecure {
		domain = ""
	}
	tls := transport.TLSInfo{
		CertFile:      pick("cert-file", "ETCDCTL_CERT_FILE"),
		KeyFile:       pick("key-file", "ETCDCTL_KEY_FILE"),
		TrustedCAFile: pick("ca-file", "ETCDCTL_CA_FILE"),
		ServerName:    domain,
	}
	dial := defaultDialTimeout
	if total := c.global.Duration("total-timeout"); total != 0 && total < dial {
		dial = total
	}
	return transport.NewTransport(tls, dial)
}

// curlTransport prints each request as a cURL command line before sending it (--debug).
type curlTransport struct {
	*http.Transport
	w io.Writer
}

func (t curlTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	line := fmt.Sprintf("curl -X %s %s", req.Method, req.URL.String())
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		line += fmt.Sprintf(" -d %q", string(b))
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	fmt.Fprintf(t.w, "cURL Command: %s\n", line)
	return t.Transport.RoundTrip(req)
}

// newClient builds the v2 client; debug selects the cURL-printing transport.
func (c *ctl) newClient(debug bool) (client.Client, error) {
	eps, err := c.endpoints()
	if err != nil {
		return nil, err
	}
	tr, err := c.transport()
	if err != nil {
		return nil, err
	}
	cfg := client.Config{
		Transport:               tr,
		Endpoints:               eps,
		HeaderTimeoutPerRequest: c.global.Duration("timeout"),
	}
	if debug {
		cfg.Transport = curlTransport{Transport: tr, w: c.env.Stderr}
	}
	user := c.global.String("username")
	if user == "" {
		user = c.env.Getenv("ETCDCTL_USERNAME")
	}
	if user != "" {
		name, pass, ok := strings.Cut(user, ":")
		if !ok {
			if pass, err = c.askPassword("Password: "); err != nil {
				return nil, err
			}
		}
		cfg.Username, cfg.Password = name, pass
	}
	return client.New(cfg)
}

// askPassword is speakeasy's Ask, which etcdctl prompts with: it prints prompt on stdout,
// turns the terminal's echo off when stdin is one, reads one byte at a time up to a
// newline or the end of input (so that what follows stays for the command), and prints a
// newline on stdout after it. The password is the line with its spaces trimmed. (speakeasy
// runs stty for the echo, which on a stdin that is not a terminal prints stty's complaint
// on stderr; larchctl does not.)
func (c *ctl) askPassword(prompt string) (string, error) {
	fmt.Fprint(c.env.Stdout, prompt)
	defer fmt.Fprintln(c.env.Stdout)
	if f, ok := c.env.Stdin.(*os.File); ok {
		fd := int(f.Fd())
		if old, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
			noEcho := *old
			noEcho.Lflag &^= unix.ECHO
			noEcho.Lflag |= unix.ICANON | unix.ISIG
			noEcho.Iflag |= unix.ICRNL
			if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err == nil {
				defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
			}
		}
	}
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := c.env.Stdin.Read(b)
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("failed during password entry: %s", err)
		}
		if n == 0 || b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	return strings.TrimSpace(strings.TrimSuffix(string(line), "\r")), nil
}

// syncedClient is etcdctl's mustNewClient: the client, synced with the cluster's member
// list unless --no-sync. A nil client comes with the exit status to return.
func (c *ctl) syncedClient() (client.Client, error) {
	debug := c.global.Bool("debug")
	hc, err := c.newClient(debug)
	if err != nil {
		fmt.Fprintln(c.env.Stderr, err.Error())
		return nil, exitStatus(exitError)
	}
	if !c.global.Bool("no-sync") {
		if debug {
			fmt.Fprintf(c.env.Stderr, "start to sync cluster using endpoints(%s)\n", strings.Join(hc.Endpoints(), ","))
		}
		ctx, cancel := c.totalTimeout()
		err := hc.Sync(ctx)
		cancel()
		if err != nil {
			if err == client.ErrNoEndpoints {
				fmt.Fprintf(c.env.Stderr, "etcd cluster has no published client endpoints.\n")
				fmt.Fprintf(c.env.Stderr, "Try '--no-sync' if you want to access non-published client endpoints(%s).\n", strings.Join(hc.Endpoints(), ","))
				return nil, c.handleError(exitServerError, err)
			}
			if isConnectionError(err) {
				return nil, c.handleError(exitBadConnection, err)
			}
		}
		if debug {
			fmt.Fprintf(c.env.Stderr, "got endpoints(%s) after sync\n", strings.Join(hc.Endpoints(), ","))
		}
	}
	if debug {
		fmt.Fprintf(c.env.Stderr, "Cluster-Endpoints: %s\n", strings.Join(hc.Endpoints(), ", "))
	}
	return hc, nil
}

// unsyncedClient is etcdctl's mustNewClientNoSync, used by cluster-health.
func (c *ctl) unsyncedClient() (client.Client, error) {
	debug := c.global.Bool("debug")
	hc, err := c.newClient(debug)
	if err != nil {
		fmt.Fprintln(c.env.Stderr, err.Error())
		return nil, exitStatus(exitError)
	}
	if debug {
		fmt.Fprintf(c.env.Stderr, "Cluster-Endpoints: %s\n", strings.Join(hc.Endpoints(), ", "))
	}
	return hc, nil
}

func (c *ctl) keysAPI() (client.KeysAPI, error) {
	hc, err := c.syncedClient()
	if err != nil {
		return nil, err
	}
	return client.NewKeysAPI(hc), nil
}

func (c *ctl) membersAPI() (client.MembersAPI, error) {
	hc, err := c.syncedClient()
	if err != nil {
		return nil, err
	}
	return client.NewMembersAPI(hc), nil
}

func (c *ctl) totalTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.global.Duration("total-timeout"))
}

// isConnectionError reports whether err means no endpoint could be reached: a cluster
// error made only of dial/read failures, refused connections and timeouts.
func isConnectionError(err error) bool {
	switch t := err.(type) {
	case *client.ClusterError:
		for _, e := range t.Errors {
			if !isConnectionError(e) {
				return false
			}
		}
		return true
	case *net.OpError:
		if t.Op == "dial" || t.Op == "read" {
			return true
		}
		return isConnectionError(t.Err)
	case syscall.Errno:
		return t == syscall.ECONNREFUSED
	case net.Error:
		return t.Timeout()
	}
	return false
}

// clusterErrorDetail returns the per-endpoint detail of a cluster error.
func clusterErrorDetail(err error) (string, bool) {
	var ce *client.ClusterError
	if errors.As(err, &ce) && err == error(ce) {
		return ce.Detail(), true
	}
	return "", false
}
