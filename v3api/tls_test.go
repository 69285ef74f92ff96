package v3api_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/pki"
	"github.com/larchkv/larch/pki/pkitest"
	"github.com/larchkv/larch/v3api"
)

// tlsFixture is a CA, a member serving TLS with client certificate auth,
// and a way to make client configurations.
type tlsFixture struct {
	t      *testing.T
	dir    string
	ca     *pkitest.CA
	caFile string
	m      *member
}

func newTLSFixture(t *testing.T) *tlsFixture {
	fx := &tlsFixture{t: t, dir: t.TempDir(), ca: pkitest.NewCA(t, "larch-ca")}
	fx.caFile = fx.ca.WriteCA(t, fx.dir, "ca")
	cert, key, _ := fx.ca.Issue(t, fx.dir, "server", pkitest.Leaf{CN: "server", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	serverTLS, err := pki.TLSInfo{CertFile: cert, KeyFile: key, TrustedCAFile: fx.caFile, ClientCertAuth: true}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	fx.m = startMemberTLS(t, serverTLS, func(_ *cluster.Config, api *v3api.Config) { api.ClientCertAuth = true })
	return fx
}

// clientTLS returns a client configuration with a certificate issue
// signs for cn (none when issuer is nil).
func (fx *tlsFixture) clientTLS(name string, issuer *pkitest.CA, leaf pkitest.Leaf) *tls.Config {
	info := pki.TLSInfo{TrustedCAFile: fx.caFile}
	if issuer != nil {
		info.CertFile, info.KeyFile, _ = issuer.Issue(fx.t, fx.dir, name, leaf)
	}
	c, err := info.ClientConfig()
	if err != nil {
		fx.t.Fatal(err)
	}
	return c
}

// etcdClient is etcd's client over TLS, without a user name: the
// certificate's CN is the user.
func (fx *tlsFixture) etcdClient(cfg *tls.Config) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   []string{fx.m.listener.Addr().String()},
		TLS:         cfg,
		DialTimeout: 3 * time.Second,
		Logger:      zap.NewNop(),
	})
}

// TestClientPortHandshakeMatrix: with --client-cert-auth the client port
// takes only a valid client certificate from its CA.
func TestClientPortHandshakeMatrix(t *testing.T) {
	fx := newTLSFixture(t)
	clientAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	other := pkitest.NewCA(t, "other")
	for _, c := range []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"no certificate", fx.clientTLS("none", nil, pkitest.Leaf{}), false},
		{"another CA's", fx.clientTLS("foreign", other, pkitest.Leaf{CN: "x", Usages: clientAuth}), false},
		{"expired", fx.clientTLS("expired", fx.ca, pkitest.Leaf{CN: "x", Usages: clientAuth, Expired: true}), false},
		{"server usage only", fx.clientTLS("srvonly", fx.ca, pkitest.Leaf{CN: "x", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}), false},
		{"valid", fx.clientTLS("valid", fx.ca, pkitest.Leaf{CN: "x", Usages: clientAuth}), true},
	} {
		conn, err := grpc.NewClient(fx.m.listener.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(c.cfg)))
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err = pb.NewKVClient(conn).Put(cctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")}, grpc.WaitForReady(false))
		cancel()
		conn.Close()
		if (err == nil) != c.ok {
			t.Errorf("%s: put over TLS: %v, want success %v", c.name, err, c.ok)
		}
	}
}

// TestClientCertificateNamesTheUser: with auth on, a client certificate
// whose CN is a user gets exactly that user's permissions, with no
// password; a token, when given, counts first.
func TestClientCertificateNamesTheUser(t *testing.T) {
	fx := newTLSFixture(t)
	clientAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	root, err := fx.etcdClient(fx.clientTLS("root", fx.ca, pkitest.Leaf{CN: "root", Usages: clientAuth}))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	must[*clientv3.AuthUserAddResponse](t)(root.UserAdd(ctx(t), "root", "rootpw"))
	must[*clientv3.AuthRoleAddResponse](t)(root.RoleAdd(ctx(t), "root"))
	must[*clientv3.AuthUserGrantRoleResponse](t)(root.UserGrantRole(ctx(t), "root", "root"))
	must[*clientv3.AuthRoleAddResponse](t)(root.RoleAdd(ctx(t), "rw"))
	must[*clientv3.AuthRoleGrantPermissionResponse](t)(root.RoleGrantPermission(ctx(t), "rw", "a/", "a0", clientv3.PermissionType(authpb.READWRITE)))
	must[*clientv3.AuthUserAddResponse](t)(root.UserAddWithOptions(ctx(t), "alice", "", &clientv3.UserAddOptions{NoPassword: true}))
	must[*clientv3.AuthUserGrantRoleResponse](t)(root.UserGrantRole(ctx(t), "alice", "rw"))
	must[*clientv3.AuthEnableResponse](t)(root.AuthEnable(ctx(t)))

	// root's certificate is root: it may manage auth.
	must[*clientv3.AuthUserListResponse](t)(root.UserList(ctx(t)))
	alice, err := fx.etcdClient(fx.clientTLS("alice", fx.ca, pkitest.Leaf{CN: "alice", Usages: clientAuth}))
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	must[*clientv3.PutResponse](t)(alice.Put(ctx(t), "a/1", "v"))
	must[*clientv3.GetResponse](t)(alice.Get(ctx(t), "a/1"))
	if _, err := alice.Put(ctx(t), "z", "v"); !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Fatalf("alice's certificate outside her range: %v", err)
	}
	if _, err := alice.UserList(ctx(t)); !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Fatalf("alice's certificate listing users: %v", err)
	}
	nobody, err := fx.etcdClient(fx.clientTLS("nobody", fx.ca, pkitest.Leaf{CN: "nobody", Usages: clientAuth}))
	if err != nil {
		t.Fatal(err)
	}
	defer nobody.Close()
	if _, err := nobody.Get(ctx(t), "a/1"); !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Fatalf("a certificate naming no user: %v", err)
	}
	// A password login over alice's certificate as root: the token wins.
	cfg := fx.clientTLS("alice2", fx.ca, pkitest.Leaf{CN: "alice", Usages: clientAuth})
	asRoot, err := clientv3.New(clientv3.Config{Endpoints: []string{fx.m.listener.Addr().String()}, TLS: cfg,
		Username: "root", Password: "rootpw", DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer asRoot.Close()
	must[*clientv3.PutResponse](t)(asRoot.Put(ctx(t), "z", "v"))
}
