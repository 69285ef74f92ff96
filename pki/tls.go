package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// TLSInfo describes one side's TLS, in etcd's terms: the flags
// --cert-file, --key-file, --trusted-ca-file, --client-cert-auth,
// --client-crl-file (and their --peer- forms), --peer-cert-allowed-cn and
// --peer-cert-allowed-hostname, --cipher-suites, --tls-min-version and
// --tls-max-version.
type TLSInfo struct {
	CertFile, KeyFile string
	// TrustedCAFile holds the CAs whose certificates are accepted from the
	// other side (clients on a server, servers on a client).
	TrustedCAFile string
	// ClientCertAuth makes a server require and verify client certificates
	// (which a TrustedCAFile alone does too, as in etcd); the API layers
	// read it as "the certificate's CN names the user".
	ClientCertAuth bool
	// CRLFile lists revoked certificates, refused at the handshake.
	CRLFile string
	// AllowedCNs and AllowedHostnames, if set, are what a verified peer
	// certificate must name: one of the CNs, or a SAN matching one of the
	// hosts (etcd's lists; at most one of the two may be set).
	AllowedCNs, AllowedHostnames []string
	// RequirePeerUsage makes a server take only client certificates that
	// allow server auth too (peer certificates), not users' client ones.
	RequirePeerUsage       bool
	CipherSuites           []uint16
	MinVersion, MaxVersion uint16
}

// Empty tells whether no certificate is configured.
func (i TLSInfo) Empty() bool { return i.CertFile == "" && i.KeyFile == "" }

// files are read again whenever they change on disk (checked at most once
// a second, at a handshake), so rotated certificates, CAs and CRLs take
// effect for new connections without a restart.
type files struct {
	info TLSInfo

	mu      sync.Mutex // guards the fields below
	checked time.Time
	// stamps are the files as last read: a file replaced by a rename is
	// another file even within the clock tick that file times have.
	stamps  map[string]os.FileInfo
	cert    *tls.Certificate
	pool    *x509.CertPool
	revoked map[string]bool // serial numbers, as decimal strings
}

// recheckEvery bounds how often the files are looked at; tests set 0.
var recheckEvery = defaultRecheck

const defaultRecheck = time.Second

func newFiles(info TLSInfo) (*files, error) {
	f := &files{info: info}
	if err := f.load(); err != nil {
		return nil, err
	}
	f.checked = time.Now()
	return f, nil
}

func (f *files) paths() []string {
	var ps []string
	for _, p := range []string{f.info.CertFile, f.info.KeyFile, f.info.TrustedCAFile, f.info.CRLFile} {
		if p != "" {
			ps = append(ps, p)
		}
	}
	return ps
}

// load reads every file; on error the previous state stays.
func (f *files) load() error {
	stamps := map[string]os.FileInfo{}
	for _, p := range f.paths() {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pki: %w", err)
		}
		stamps[p] = st
	}
	var cert *tls.Certificate
	if !f.info.Empty() {
		c, err := tls.LoadX509KeyPair(f.info.CertFile, f.info.KeyFile)
		if err != nil {
			return fmt.Errorf("pki: load %s and %s: %w", f.info.CertFile, f.info.KeyFile, err)
		}
		cert = &c
	}
	var pool *x509.CertPool
	if f.info.TrustedCAFile != "" {
		b, err := os.ReadFile(f.info.TrustedCAFile)
		if err != nil {
			return fmt.Errorf("pki: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return fmt.Errorf("pki: no certificate in %s", f.info.TrustedCAFile)
		}
	}
	var revoked map[string]bool
	if f.info.CRLFile != "" {
		b, err := os.ReadFile(f.info.CRLFile)
		if err != nil {
			return fmt.Errorf("pki: %w", err)
		}
		if blk, _ := pem.Decode(b); blk != nil {
			b = blk.Bytes
		}
		crl, err := x509.ParseRevocationList(b)
		if err != nil {
			return fmt.Errorf("pki: parse CRL %s: %w", f.info.CRLFile, err)
		}
		revoked = map[string]bool{}
		for _, e := range crl.RevokedCertificateEntries {
			revoked[e.SerialNumber.String()] = true
		}
	}
	f.mu.Lock()
	f.stamps, f.cert, f.pool, f.revoked = stamps, cert, pool, revoked
	f.mu.Unlock()
	return nil
}

// current returns the loaded state, reading the files again if one of
// them changed since.
func (f *files) current() (*tls.Certificate, *x509.CertPool, map[string]bool) {
	f.mu.Lock()
	stale := time.Since(f.checked) >= recheckEvery
	if stale {
		f.checked = time.Now()
	}
	f.mu.Unlock()
	if stale && f.changed() {
		// A file caught half-written fails to load; the previous state
		// stays and the next check tries again.
		_ = f.load()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cert, f.pool, f.revoked
}

func (f *files) changed() bool {
	f.mu.Lock()
	stamps := f.stamps
	f.mu.Unlock()
	for _, p := range f.paths() {
		st, err := os.Stat(p)
		old := stamps[p]
		if err != nil || old == nil || !os.SameFile(st, old) || !st.ModTime().Equal(old.ModTime()) || st.Size() != old.Size() {
			return true
		}
	}
	return false
}

// ServerConfig is the TLS configuration of a listener: its certificate,
// and with a TrustedCAFile the clients' certificates required and verified
// against it (and CRLFile, AllowedCNs, AllowedHostnames). Both
// HTTP/2 (gRPC) and HTTP/1.1 are offered.
func (i TLSInfo) ServerConfig() (*tls.Config, error) {
	if i.Empty() {
		return nil, errors.New("pki: a TLS server needs --cert-file and --key-file")
	}
	if i.ClientCertAuth && i.TrustedCAFile == "" {
		return nil, errors.New("pki: client certificate auth needs a trusted CA file")
	}
	if len(i.AllowedCNs) > 0 && len(i.AllowedHostnames) > 0 {
		return nil, fmt.Errorf("AllowedCNs and AllowedHostnames are mutually exclusive (cns=%q, hostnames=%q)", i.AllowedCNs, i.AllowedHostnames)
	}
	f, err := newFiles(i)
	if err != nil {
		return nil, err
	}
	base := i.baseConfig()
	base.NextProtos = []string{"h2", "http/1.1"}
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		cert, pool, revoked := f.current()
		c := base.Clone()
		c.GetConfigForClient = nil
		c.Certificates = []tls.Certificate{*cert}
		if pool != nil {
			c.ClientCAs = pool
			// etcd's rule: a trusted CA on a listener means clients must
			// show a certificate from it, --client-cert-auth or not.
			c.ClientAuth = tls.RequireAndVerifyClientCert
			// VerifyConnection, not VerifyPeerCertificate: it runs on
			// resumed sessions too, so a certificate revoked since the
			// session began is refused at its resumption.
			c.VerifyConnection = func(cs tls.ConnectionState) error {
				if len(cs.VerifiedChains) == 0 {
					return nil // unreachable while a certificate is required
				}
				if err := i.checkChains(cs.VerifiedChains, revoked); err != nil {
					return err
				}
				if i.RequirePeerUsage && !peerUsage(cs.VerifiedChains[0][0]) {
					return errors.New("pki: a peer certificate must allow both server and client auth")
				}
				return nil
			}
		}
		return c, nil
	}
	return base, nil
}

// peerUsage tells whether a certificate is a peer's: usable both to serve
// and to dial (what `larchctl pki cert --profile peer` issues).
func peerUsage(c *x509.Certificate) bool {
	server, client := false, false
	for _, u := range c.ExtKeyUsage {
		server = server || u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny
		client = client || u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny
	}
	return server && client
}

// ClientConfig is the TLS configuration of a client (larchctl, tests):
// the servers' certificates verified by crypto/tls against TrustedCAFile
// as it is now (the system's CAs without one), for the name the client
// dials, IP addresses included; then against the CRL; this side's
// certificate offered if it has one, as it is on disk at each handshake.
// Dialer gives each dial the CA file as it is then.
func (i TLSInfo) ClientConfig() (*tls.Config, error) {
	f, err := newFiles(i)
	if err != nil {
		return nil, err
	}
	return i.clientConfig(f), nil
}

func (i TLSInfo) clientConfig(f *files) *tls.Config {
	_, pool, _ := f.current()
	c := i.baseConfig()
	c.RootCAs = pool
	if !i.Empty() {
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, _, _ := f.current()
			return cert, nil
		}
	}
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		_, _, revoked := f.current()
		if len(cs.VerifiedChains) == 0 {
			return errors.New("pki: the server's certificate was not verified")
		}
		return i.checkChains(cs.VerifiedChains, revoked)
	}
	return c
}

func (i TLSInfo) baseConfig() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: i.CipherSuites}
	if i.MinVersion != 0 {
		c.MinVersion = i.MinVersion
	}
	if i.MaxVersion != 0 {
		c.MaxVersion = i.MaxVersion
	}
	return c
}

func (i TLSInfo) checkChains(chains [][]*x509.Certificate, revoked map[string]bool) error {
	for _, chain := range chains {
		for _, c := range chain {
			if revoked[c.SerialNumber.String()] {
				return fmt.Errorf("pki: certificate %s (serial %s) is revoked", c.Subject.CommonName, c.SerialNumber)
			}
		}
	}
	leaf := chains[0][0]
	if len(i.AllowedCNs) > 0 && !slices.Contains(i.AllowedCNs, leaf.Subject.CommonName) {
		return fmt.Errorf("pki: certificate CN %q is not one of the allowed %q", leaf.Subject.CommonName, i.AllowedCNs)
	}
	if len(i.AllowedHostnames) > 0 && !slices.ContainsFunc(i.AllowedHostnames, func(h string) bool { return leaf.VerifyHostname(h) == nil }) {
		return fmt.Errorf("pki: certificate is for none of the allowed hosts %q", i.AllowedHostnames)
	}
	return nil
}

// TLSVersion parses etcd's --tls-min-version / --tls-max-version values.
func TLSVersion(s string) (uint16, error) {
	switch s {
	case "":
		return 0, nil
	case "TLS1.2":
		return tls.VersionTLS12, nil
	case "TLS1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("unexpected TLS version %q (only \"TLS1.2\" and \"TLS1.3\" are supported)", s)
}

// CipherSuites parses etcd's --cipher-suites: names as Go spells them.
func CipherSuites(names []string) ([]uint16, error) {
	byName := map[string]uint16{}
	for _, s := range slices.Concat(tls.CipherSuites(), tls.InsecureCipherSuites()) {
		byName[s.Name] = s.ID
	}
	var ids []uint16
	for _, n := range names {
		id, ok := byName[strings.TrimSpace(n)]
		if !ok {
			return nil, fmt.Errorf("unexpected TLS cipher suite %q", n)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Dialer returns a dial function that opens TLS connections with the
// client configuration as the files are at each dial, naming (and
// verifying) the server by the host it dials, an IP address included.
func (i TLSInfo) Dialer(base *net.Dialer) (func(ctx context.Context, network, addr string) (net.Conn, error), error) {
	f, err := newFiles(i)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			return nil, fmt.Errorf("pki: no host to verify in %q", addr)
		}
		c := i.clientConfig(f)
		c.ServerName = host
		return (&tls.Dialer{NetDialer: base, Config: c}).DialContext(ctx, network, addr)
	}, nil
}
