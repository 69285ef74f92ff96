package main

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/larchkv/larch/pki"
)

// benchTLS runs the put or range scenario against a single member of its
// own whose client port serves TLS with client certificate auth, the
// certificates issued by the pki package (as `larchctl pki` issues them).
func benchTLS(o options, dir, scenario string) error {
	if o.endpoints != "" {
		return errors.New("the tls scenarios start their own server: run them without --endpoints")
	}
	pkiDir := filepath.Join(dir, "pki")
	if err := os.MkdirAll(pkiDir, 0o700); err != nil {
		return err
	}
	caCert, caKey, err := pki.InitCA(pki.CARequest{CN: "larchbench CA"})
	if err != nil {
		return err
	}
	if err := pki.WriteCA(pkiDir, caCert, caKey, true); err != nil {
		return err
	}
	for _, c := range []struct{ profile, name string }{{"server", "server"}, {"client", "client"}} {
		certPEM, keyPEM, err := pki.Issue(caCert, caKey, pki.CertRequest{Profile: c.profile, CN: c.name, Hosts: []string{"127.0.0.1"}})
		if err != nil {
			return err
		}
		if err := pki.WriteCert(pkiDir, c.name, certPEM, keyPEM, true); err != nil {
			return err
		}
	}
	file := func(name string) string { return filepath.Join(pkiDir, name) }
	clientTLS, err := pki.TLSInfo{CertFile: file("client.pem"), KeyFile: file("client-key.pem"), TrustedCAFile: file("ca.pem")}.ClientConfig()
	if err != nil {
		return err
	}
	flags := []string{"--cert-file", file("server.pem"), "--key-file", file("server-key.pem"),
		"--trusted-ca-file", file("ca.pem"), "--client-cert-auth"}
	ep, stop, err := startLarchTLS(o.larch, filepath.Join(dir, "tls-"+scenario), 1, flags, clientTLS)
	if err != nil {
		return err
	}
	defer stop()
	o.tls = clientTLS
	return benchKV(o, []string{ep}, scenario)
}
