package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// readConfigFile reads an etcd-style YAML config file. Only the keys
// present override the defaults. etcd's keys that Larch does not act on are
// ignored with a warning (so etcd's sample file and existing deployments'
// files load), except those whose silent absence would start a different
// cluster than asked for, which are refused when set. Any other key is
// refused: etcd ignores unknown keys, so a typo there silently falls back
// to a default.
func readConfigFile(path string) (serverConfig, []string, error) {
	c := defaultConfig()
	c.configFile = path
	b, err := os.ReadFile(path)
	if err != nil {
		return c, nil, fmt.Errorf("cannot read config file: %w", err)
	}
	invalid := func(err error) (serverConfig, []string, error) {
		return c, nil, fmt.Errorf("invalid config file %s: %w", path, err)
	}
	// Strict: a key given twice is an error, not "the last one wins".
	js, err := yaml.YAMLToJSONStrict(b)
	if err != nil {
		return invalid(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(js, &doc); err != nil {
		return invalid(fmt.Errorf("want a mapping of keys to values: %w", err))
	}
	var warnings []string
	for _, key := range slices.Sorted(maps.Keys(doc)) {
		if configKeys[key] || !etcdConfigKeys[key] {
			continue
		}
		if refusedEtcdKeys[key] && !isZeroJSON(doc[key]) {
			return invalid(fmt.Errorf("%s is not supported by Larch", key))
		}
		if !isZeroJSON(doc[key]) && !isEtcdDefault(key, doc[key]) {
			warnings = append(warnings, fmt.Sprintf("config file key %q is not implemented by Larch; ignored", key))
		}
		delete(doc, key)
	}
	filtered, err := json.Marshal(doc)
	if err != nil {
		return invalid(err)
	}
	dec := json.NewDecoder(bytes.NewReader(filtered))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return invalid(err)
	}
	if err := c.foldTransportSecurity(); err != nil {
		return invalid(err)
	}
	// etcd's sample file leaves keys empty (YAML null): unset, as in etcd.
	c.initialClusterSet = !isZeroJSON(doc["initial-cluster"])
	c.dataDirSet = !isZeroJSON(doc["data-dir"])
	return c, warnings, nil
}

// transportSecurity is etcd's client-transport-security and
// peer-transport-security config-file section.
type transportSecurity struct {
	CertFile       string `json:"cert-file"`
	KeyFile        string `json:"key-file"`
	ClientCertAuth bool   `json:"client-cert-auth"`
	TrustedCAFile  string `json:"trusted-ca-file"`
	AutoTLS        bool   `json:"auto-tls"`
	// AllowedCN and AllowedHostname are the peer's
	// --peer-cert-allowed-cn and --peer-cert-allowed-hostname.
	AllowedCN       []string `json:"allowed-cn"`
	AllowedHostname []string `json:"allowed-hostname"`
	// Larch dials peers with cert-file and verifies every SAN; these
	// are accepted only at their defaults.
	ClientCertFile            string `json:"client-cert-file"`
	ClientKeyFile             string `json:"client-key-file"`
	SkipClientSANVerification bool   `json:"skip-client-san-verification"`
}

// foldTransportSecurity moves the config file's transport-security
// sections into the flat fields the flags set. A value given both in a
// section and as a flat key must agree.
func (c *serverConfig) foldTransportSecurity() error {
	if s := c.ClientSecurity; s != nil {
		if len(s.AllowedCN) > 0 || len(s.AllowedHostname) > 0 {
			return fmt.Errorf("client-transport-security: allowed-cn and allowed-hostname are not supported by Larch (use auth with --client-cert-auth)")
		}
		if err := s.fold("client-transport-security", &c.CertFile, &c.KeyFile, &c.TrustedCAFile, &c.ClientCertAuth, &c.AutoTLS); err != nil {
			return err
		}
	}
	if s := c.PeerSecurity; s != nil {
		if err := s.fold("peer-transport-security", &c.PeerCertFile, &c.PeerKeyFile, &c.PeerTrustedCAFile, &c.PeerClientCertAuth, &c.PeerAutoTLS); err != nil {
			return err
		}
		for _, l := range []struct {
			dst  *listValue
			from []string
			key  string
		}{{&c.PeerCertAllowedCN, s.AllowedCN, "allowed-cn"}, {&c.PeerCertAllowedHostname, s.AllowedHostname, "allowed-hostname"}} {
			if err := foldString("peer-transport-security", l.key, (*string)(l.dst), strings.Join(l.from, ",")); err != nil {
				return err
			}
		}
	}
	c.ClientSecurity, c.PeerSecurity = nil, nil
	return nil
}

func (s *transportSecurity) fold(section string, certFile, keyFile, trustedCAFile *string, certAuth, autoTLS *bool) error {
	switch {
	case s.ClientCertFile != "" || s.ClientKeyFile != "":
		return fmt.Errorf("%s: client-cert-file and client-key-file are not supported by Larch (cert-file serves both ends)", section)
	case s.SkipClientSANVerification:
		return fmt.Errorf("%s: skip-client-san-verification is not supported by Larch", section)
	}
	for _, f := range []struct {
		dst  *string
		from string
		key  string
	}{{certFile, s.CertFile, "cert-file"}, {keyFile, s.KeyFile, "key-file"}, {trustedCAFile, s.TrustedCAFile, "trusted-ca-file"}} {
		if err := foldString(section, f.key, f.dst, f.from); err != nil {
			return err
		}
	}
	*certAuth = *certAuth || s.ClientCertAuth
	*autoTLS = *autoTLS || s.AutoTLS
	return nil
}

func foldString(section, key string, dst *string, from string) error {
	switch {
	case from == "":
	case *dst != "" && *dst != from:
		return fmt.Errorf("%s: %s %q disagrees with the top-level key's %q", section, key, from, *dst)
	default:
		*dst = from
	}
	return nil
}

// listValue is a comma-separated flag value; a config file may give it as
// a YAML list, as etcd's cipher-suites is.
type listValue string

// durationValue is a duration key: the command line takes Go's form
// ("5m"), a config file also etcd's, a number of nanoseconds, which is how
// a time.Duration appears in etcd's YAML.
type durationValue string

func (d *durationValue) UnmarshalJSON(b []byte) error {
	var n int64
	if err := json.Unmarshal(b, &n); err == nil {
		*d = durationValue(time.Duration(n).String())
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration (nanoseconds, or a string such as 5m), got %s", b)
	}
	*d = durationValue(s)
	return nil
}

// or is d, or experimental, etcd 3.5's name of the same key, when that is
// set: the experimental name wins, as in etcd 3.6.
func (d durationValue) or(experimental durationValue) durationValue {
	if experimental != "" {
		return experimental
	}
	return d
}

// parse reads the duration of the key name; positive refuses zero, and
// example shows a good value in the error.
func (d durationValue) parse(name string, positive bool, example string) (time.Duration, error) {
	v, err := time.ParseDuration(string(d))
	if err == nil && v >= 0 && (v > 0 || !positive) {
		return v, nil
	}
	kind := "a duration"
	if positive {
		kind = "a positive duration"
	}
	return 0, fmt.Errorf("invalid value %q for --%s: %s such as %s", d, name, kind, example)
}

func (l *listValue) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = listValue(s)
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("want a list of strings or a comma-separated string, got %s", b)
	}
	*l = listValue(strings.Join(list, ","))
	return nil
}

// isZeroJSON reports whether v is absent, null or a zero value.
func isZeroJSON(v json.RawMessage) bool {
	switch string(bytes.TrimSpace(v)) {
	case "", "null", "false", `""`, "0", "[]", "{}":
		return true
	}
	return false
}

// etcdDefaults are the non-zero defaults of etcd keys Larch does not act
// on, as etcd's sample file spells them: a file that keeps them asks for
// nothing Larch does not do, and is loaded without a warning.
var etcdDefaults = map[string]any{
	"logger": "zap", "log-format": "json", "proxy": "off", "discovery-fallback": "proxy",
	"max-wals": 5.0, "max-snapshots": 5.0, "self-signed-cert-validity": 1.0, "proxy-failure-wait": 5000.0,
	"proxy-refresh-interval": 30000.0, "proxy-dial-timeout": 1000.0, "proxy-write-timeout": 5000.0,
	"enable-grpc-gateway": true, "pre-vote": true, "auto-compaction-mode": "periodic",
}

func isEtcdDefault(key string, v json.RawMessage) bool {
	def, ok := etcdDefaults[key]
	if !ok {
		return false
	}
	var got any
	return json.Unmarshal(v, &got) == nil && reflect.DeepEqual(got, def)
}

// configKeys are the config-file keys Larch reads: serverConfig's json tags.
var configKeys = func() map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeFor[serverConfig]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" {
			keys[name] = true
		}
	}
	return keys
}()

// etcdConfigKeys are etcd 3.5's and 3.6's config-file keys (embed.Config's
// json tags, its file-only sections, and the keys of etcd's sample file).
var etcdConfigKeys = func() map[string]bool {
	keys := map[string]bool{}
	for _, k := range strings.Fields(`
		name data-dir wal-dir snapshot-count experimental-snapshot-catch-up-entries snapshot-catchup-entries
		experimental-snapshot-catchup-entries max-snapshots max-wals heartbeat-interval election-timeout
		initial-election-tick-advance backend-batch-interval backend-batch-limit backend-bbolt-freelist-type
		quota-backend-bytes max-txn-ops max-request-bytes max-concurrent-streams self-signed-cert-validity
		cipher-suites tls-min-version tls-max-version initial-cluster-state discovery-srv discovery-srv-name
		discovery-proxy discovery discovery-config discovery-fallback initial-cluster initial-cluster-token
		strict-reconfig-check auto-compaction-mode auto-compaction-retention grpc-keepalive-min-time
		grpc-keepalive-interval grpc-keepalive-timeout grpc-additional-server-options socket-options pre-vote
		auth-token bcrypt-cost auth-token-ttl experimental-initial-corrupt-check experimental-corrupt-check-time
		corrupt-check-time experimental-compact-hash-check-enabled experimental-compact-hash-check-time
		compact-hash-check-time experimental-enable-lease-checkpoint experimental-enable-lease-checkpoint-persist
		experimental-compaction-batch-limit compaction-batch-limit experimental-compaction-sleep-interval
		compaction-sleep-interval experimental-watch-progress-notify-interval watch-progress-notify-interval
		experimental-warning-apply-duration warning-apply-duration experimental-bootstrap-defrag-threshold-megabytes
		bootstrap-defrag-threshold-megabytes warning-unary-request-duration experimental-warning-unary-request-duration
		max-learners force-new-cluster enable-pprof metrics listen-metrics-urls experimental-enable-distributed-tracing
		enable-distributed-tracing experimental-distributed-tracing-address distributed-tracing-address
		experimental-distributed-tracing-service-name distributed-tracing-service-name
		experimental-distributed-tracing-instance-id distributed-tracing-instance-id
		experimental-distributed-tracing-sampling-rate distributed-tracing-sampling-rate
		experimental-peer-skip-client-san-verification logger log-level log-format log-outputs enable-log-rotation
		log-rotation-config-json enable-grpc-gateway unsafe-no-fsync experimental-downgrade-check-time
		downgrade-check-time memory-mlock experimental-memory-mlock experimental-txn-mode-write-with-shared-buffer
		experimental-stop-grpc-service-on-defrag v2-deprecation listen-peer-urls listen-client-urls
		listen-client-http-urls initial-advertise-peer-urls advertise-client-urls cors host-whitelist feature-gates
		client-transport-security peer-transport-security enable-v2 experimental-enable-v2v3 debug
		proxy proxy-failure-wait proxy-refresh-interval proxy-dial-timeout proxy-write-timeout proxy-read-timeout`) {
		keys[k] = true
	}
	return keys
}()

// refusedEtcdKeys are etcd keys Larch does not implement and must not
// ignore: each, when set, asks for a different cluster or data than Larch
// would start without it. (discovery, etcd v2's URL discovery, is Larch's too.)
var refusedEtcdKeys = map[string]bool{
	"discovery-srv": true, "discovery-srv-name": true, "discovery-proxy": true,
	"discovery-config": true, "force-new-cluster": true, "wal-dir": true,
	"experimental-enable-v2v3": true,
}
