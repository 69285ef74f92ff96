package main

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/larchkv/larch/pki"
)

// Verified auto-TLS (--auto-tls, --peer-auto-tls). etcd's auto-TLS makes
// self-signed certificates that nobody verifies; Larch's member issues
// itself a certificate from a CA (--pki-ca-dir, made by `larchctl pki ca
// init`, or else one it makes in its data dir), so members and clients
// verify each other against that CA. The certificates live in
// <data-dir>/fixtures/{client,peer} (etcd's place) and are renewed once
// two thirds of their validity have passed; the TLS configurations read
// them again when they change.

const (
	autoCertValidity = 365 * 24 * time.Hour
	// autoCheckEvery is how often the member looks whether to renew.
	autoCheckEvery = time.Hour
)

// autoTLS is one side's (client or peer) self-issued certificate.
type autoTLS struct {
	profile string // "server" for the client port, "peer" for peers
	caDir   string
	dir     string
	cn      string
	hosts   []string
}

func (a autoTLS) certFile() string { return filepath.Join(a.dir, "cert.pem") }
func (a autoTLS) keyFile() string  { return filepath.Join(a.dir, "cert-key.pem") }

// files are the side's certificate, key and the CA to verify the other
// side with.
func (a autoTLS) files() (cert, key, ca string) {
	return a.certFile(), a.keyFile(), filepath.Join(a.caDir, "ca.pem")
}

// ensure issues the certificate if there is none, or if it is due for
// renewal, or no longer names the hosts.
func (a autoTLS) ensure(logger *slog.Logger) error {
	if cert, err := readCert(a.certFile()); err == nil {
		lifetime := cert.NotAfter.Sub(cert.NotBefore)
		renewAt := cert.NotBefore.Add(lifetime * 2 / 3)
		if time.Now().Before(renewAt) && coversHosts(cert, a.hosts) {
			return nil
		}
	}
	caCert, caKey, err := pki.LoadCA(a.caDir)
	if err != nil {
		return fmt.Errorf("auto TLS: %w", err)
	}
	certPEM, keyPEM, err := pki.Issue(caCert, caKey, pki.CertRequest{Profile: a.profile, CN: a.cn, Hosts: a.hosts, Expiry: autoCertValidity})
	if err != nil {
		return fmt.Errorf("auto TLS: %w", err)
	}
	if err := os.MkdirAll(a.dir, 0o700); err != nil {
		return err
	}
	if err := pki.WriteCert(a.dir, "cert", certPEM, keyPEM, true); err != nil {
		return fmt.Errorf("auto TLS: %w", err)
	}
	logger.Info("issued an auto-TLS certificate", "profile", a.profile, "cert-file", a.certFile(), "ca-dir", a.caDir, "hosts", a.hosts)
	return nil
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	return x509.ParseCertificate(blk.Bytes)
}

func coversHosts(cert *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if cert.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// autoHosts are the host names of urls, once each.
func autoHosts(urls ...[]*url.URL) []string {
	var hosts []string
	for _, us := range urls {
		for _, u := range us {
			h := u.Hostname()
			if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
				continue // 0.0.0.0 names no host
			}
			if !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
	}
	return hosts
}

// ensureAutoCA returns the CA dir to issue from: --pki-ca-dir, or a CA the
// member makes (once) in its data dir, whose path it logs for clients.
func ensureAutoCA(caDir, dataDir string, logger *slog.Logger) (string, error) {
	if caDir != "" {
		if _, _, err := pki.LoadCA(caDir); err != nil {
			return "", fmt.Errorf("--pki-ca-dir: %w", err)
		}
		return caDir, nil
	}
	dir := filepath.Join(dataDir, "fixtures", "ca")
	if _, _, err := pki.LoadCA(dir); err == nil {
		logger.Info("auto TLS uses the CA in the data dir; clients verify with its ca.pem", "ca-dir", dir)
		return dir, nil
	}
	certPEM, keyPEM, err := pki.InitCA(pki.CARequest{CN: "larch auto-TLS CA"})
	if err != nil {
		return "", fmt.Errorf("auto TLS: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := pki.WriteCA(dir, certPEM, keyPEM, false); err != nil {
		return "", fmt.Errorf("auto TLS: %w", err)
	}
	logger.Warn("auto TLS made a CA in the data dir; clients verify with its ca.pem, other members need the same CA (--pki-ca-dir)", "ca-dir", dir)
	return dir, nil
}
