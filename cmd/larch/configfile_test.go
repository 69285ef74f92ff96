package main

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestConfigFileEtcdTLSSections loads a config file laid out as etcd's
// sample: TLS in client-transport-security and peer-transport-security,
// cipher-suites as a YAML list, and etcd keys Larch does not implement.
func TestConfigFileEtcdTLSSections(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "config", "etcd-tls.yaml")
	r, warnings, err := resolveArgs(t, []string{"--config-file", path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, p := r.clientTLS, r.peerTLS
	if c == nil || c.CertFile != "/etc/larch/server.pem" || c.KeyFile != "/etc/larch/server-key.pem" ||
		c.TrustedCAFile != "/etc/larch/ca.pem" || !c.ClientCertAuth || !r.api.ClientCertAuth {
		t.Fatalf("client TLS from client-transport-security: %+v", c)
	}
	if p == nil || p.CertFile != "/etc/larch/peer.pem" || p.KeyFile != "/etc/larch/peer-key.pem" ||
		p.TrustedCAFile != "/etc/larch/ca.pem" || !p.ClientCertAuth || !slices.Equal(p.AllowedCNs, []string{"infra1", "infra2"}) {
		t.Fatalf("peer TLS from peer-transport-security: %+v", p)
	}
	want := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}
	if !slices.Equal(c.CipherSuites, want) || !slices.Equal(p.CipherSuites, want) || c.MaxVersion != tls.VersionTLS13 {
		t.Fatalf("cipher-suites list / versions: client %v peer %v max %x", c.CipherSuites, p.CipherSuites, c.MaxVersion)
	}
	if r.member.SkipReconfigChecks != true || r.member.DataDir != "/var/lib/larch/infra1" {
		t.Fatalf("flat keys beside the sections: %+v", r.member)
	}
	// Keys set to something Larch ignores are named; empty ones and etcd's
	// defaults are not.
	joined := strings.Join(warnings, "\n")
	if r.member.AutoCompactionMode != "periodic" || r.member.AutoCompactionPeriod != time.Hour {
		t.Errorf("auto-compaction from the file: %q %v", r.member.AutoCompactionMode, r.member.AutoCompactionPeriod)
	}
	for _, key := range []string{"max-wals"} {
		if !strings.Contains(joined, `"`+key+`"`) {
			t.Errorf("no warning for ignored key %s in %q", key, warnings)
		}
	}
	for _, key := range []string{"wal-dir", "force-new-cluster", "cors", "logger", "proxy", "discovery-fallback", "auto-compaction-mode", "auto-compaction-retention", "max-snapshots", "log-outputs"} {
		if strings.Contains(joined, `"`+key+`"`) {
			t.Errorf("warning for unset key %s: %q", key, warnings)
		}
	}
}

// TestConfigFileEmptyKeys: etcd's sample file leaves initial-cluster and
// data-dir empty; as in etcd they are then derived from the name.
func TestConfigFileEmptyKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etcd.yml")
	yml := "name: infra9\ninitial-cluster:\ndata-dir:\n" +
		"listen-peer-urls: http://127.0.0.1:24380\ninitial-advertise-peer-urls: http://127.0.0.1:24380\n" +
		"listen-client-urls: http://127.0.0.1:24379\nadvertise-client-urls: http://127.0.0.1:24379\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	r, _, err := resolveArgs(t, []string{"--config-file", path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ic := r.member.InitialCluster; len(ic) != 1 || ic[0].Name != "infra9" || ic[0].PeerURLs[0] != "http://127.0.0.1:24380" || r.member.DataDir != "infra9.larch" {
		t.Fatalf("initial cluster %+v, data dir %q: want infra9=http://127.0.0.1:24380 and infra9.larch", ic, r.member.DataDir)
	}
}

func TestConfigFileRejects(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"typo", "hearbeat-interval: 200\n", `unknown field "hearbeat-interval"`},
		{"duplicate key", "name: a\nname: b\n", `"name" already set`},
		{"unknown section key", "client-transport-security:\n  cert-fiel: x\n", `unknown field "cert-fiel"`},
		{"section disagrees", "cert-file: /a.pem\nclient-transport-security:\n  cert-file: /b.pem\n", `cert-file "/b.pem" disagrees`},
		{"discovery-srv ignored would bootstrap alone", "discovery-srv: example.com\n", "discovery-srv is not supported"},
		{"discovery and initial-cluster", "discovery: http://127.0.0.1:2379/v2/keys/d/x\ninitial-cluster: a=http://127.0.0.1:2380\n", "Choose one of"},
		{"force-new-cluster", "force-new-cluster: true\n", "force-new-cluster is not supported"},
		{"wal-dir", "wal-dir: /wal\n", "wal-dir is not supported"},
		{"client allowed-cn", "client-transport-security:\n  allowed-cn: [a]\n", "allowed-cn and allowed-hostname are not supported"},
		{"client-cert-file", "peer-transport-security:\n  client-cert-file: /c.pem\n", "client-cert-file and client-key-file are not supported"},
		{"skip SAN verification", "peer-transport-security:\n  skip-client-san-verification: true\n", "skip-client-san-verification is not supported"},
		{"cipher list of numbers", "cipher-suites: [1, 2]\n", "want a list of strings"},
		{"not a mapping", "- name\n", "want a mapping"},
		{"ciphers with TLS 1.3 only", "cipher-suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\ntls-min-version: TLS1.3\n", "cipher suites cannot be configured when only TLS1.3 is enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "larch.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, _, err := resolveArgs(t, []string{"--config-file", path}, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestCipherSuitesWithTLS13Only: etcd refuses the combination, as Go fixes
// TLS 1.3's suites; a flag that would be silently ignored is an error.
func TestCipherSuitesWithTLS13Only(t *testing.T) {
	_, _, err := resolveArgs(t, []string{"--cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "--tls-min-version", "TLS1.3"}, nil)
	if err == nil || err.Error() != "cipher suites cannot be configured when only TLS1.3 is enabled" {
		t.Fatalf("got %v", err)
	}
	if _, _, err := resolveArgs(t, []string{"--cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "--tls-max-version", "TLS1.3"}, nil); err != nil {
		t.Fatalf("suites with TLS 1.2 allowed: %v", err)
	}
}

// TestConfigFileDurations: etcd's YAML writes a time.Duration as a number
// of nanoseconds; those load, and so does Go's form.
func TestConfigFileDurations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etcd.yml")
	yml := "corrupt-check-time: 300000000000\nwarning-apply-duration: 200ms\nexperimental-watch-progress-notify-interval: 5000000000\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	r, _, err := resolveArgs(t, []string{"--config-file", path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.member.CorruptCheckTime != 5*time.Minute || r.member.WarningApplyDuration != 200*time.Millisecond || r.api.WatchProgressNotifyInterval != 5*time.Second {
		t.Fatalf("corrupt check %v, slow apply %v, progress %v", r.member.CorruptCheckTime, r.member.WarningApplyDuration, r.api.WatchProgressNotifyInterval)
	}
}

// TestNegativeQuotaDisables: etcd takes a negative --quota-backend-bytes as
// "no quota", not as an error.
func TestNegativeQuotaDisables(t *testing.T) {
	r, _, err := resolveArgs(t, []string{"--quota-backend-bytes", "-1"}, nil)
	if err != nil || r.api.QuotaBackendBytes != -1 {
		t.Fatalf("quota %d, %v", r.api.QuotaBackendBytes, err)
	}
}
