package cluster

import (
	"net"
	"strings"
	"testing"
)

func TestBootstrapRefusesMismatchedConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name string
		tune func(*Config)
		want string
	}{
		{"name not in the initial cluster", func(c *Config) { c.Name = "other" },
			`couldn't find local name "other" in the initial cluster configuration`},
		{"duplicate peer URL", func(c *Config) {
			c.InitialCluster = append(c.InitialCluster, InitialMember{Name: "t2", PeerURLs: c.PeerURLs})
		}, "is given to both"},
		{"duplicate name", func(c *Config) {
			c.InitialCluster = append(c.InitialCluster, InitialMember{Name: "t1", PeerURLs: []string{"http://127.0.0.1:2390"}})
		}, `member name "t1" appears twice`},
		{"advertised URLs differ from the initial cluster's", func(c *Config) { c.PeerURLs = []string{"http://127.0.0.1:9999"} },
			"--initial-advertise-peer-urls"},
		{"existing cluster unreachable", func(c *Config) {
			c.InitialClusterState = "existing"
			// A port nobody listens on: taken, then released.
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			l.Close()
			c.InitialCluster = append(c.InitialCluster, InitialMember{Name: "t2", PeerURLs: []string{"http://" + l.Addr().String()}})
		}, "could not retrieve cluster information"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			tc.tune(&cfg)
			s, err := NewServer(cfg)
			if err == nil {
				s.Stop()
				t.Fatal("NewServer accepted the configuration")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestRestartIgnoresBootstrapFlags(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	s := startServer(t, cfg)
	id, cid := s.ID(), s.ClusterID()
	s.Stop()
	// etcd ignores --initial-cluster and its token once the data dir holds
	// a member, and so does Larch.
	cfg.InitialCluster = []InitialMember{{Name: "t1", PeerURLs: []string{"http://127.0.0.1:2380"}}, {Name: "t2", PeerURLs: []string{"http://127.0.0.1:2381"}}}
	cfg.InitialClusterToken = "another-token"
	cfg.InitialClusterState = "existing"
	s = startServer(t, cfg)
	defer s.Stop()
	if s.ID() != id || s.ClusterID() != cid || len(s.Members()) != 1 {
		t.Fatalf("restart with other flags: member %s cluster %s, %d members; want %s %s 1", s.ID(), s.ClusterID(), len(s.Members()), id, cid)
	}
}
