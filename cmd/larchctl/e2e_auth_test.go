package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestE2EAuth runs testdata/larchctl/e2e/auth.script against one server, as TestE2EV3
// does (its golden is made the same way, with -run 'TestE2EAuth$'): the user, role and
// auth commands in every output format, then commands run with --user and --password
// once auth is on, as root and as a user whose role allows one key.
//
// Two things differ from runE2E. The leases the script grants are learnt by a client that
// logs in as root with the script's password (rootPassword), since once auth is on the
// server answers nobody else. And the protobuf output of the auth commands is decoded into
// its message (describeAuthProtobuf), whose header holds IDs of varying length.
func TestE2EAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
	server, ctl := e2eBinaries(t)
	cl := startCluster(t, server)
	cl.cli = rootClient(t, cl.clientAddr)

	dir := filepath.Join("..", "..", "testdata", "larchctl", "e2e")
	steps, err := parseScript(filepath.Join(dir, "auth.script"))
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "ETCDCTL_ENDPOINTS=" + cl.clientAddr}
	vars := map[string]string{"${CLIENT}": cl.clientAddr}
	var out bytes.Buffer
	known := make([]string, len(steps)) // the script has no @differs steps
	for _, s := range steps {
		res, err := runStep(ctl, env, vars, s)
		if err != nil {
			t.Fatalf("auth.script:%d: %v", s.line, err)
		}
		cl.learnLeases(t, res, vars)
		if m := describeAuthProtobuf(s, res.stdout); m != nil {
			res = result{stdout: cl.normalizeBytes(m), stderr: cl.normalizeBytes(res.stderr), code: res.code}
		} else {
			res = cl.normalize(s, res)
		}
		writeResult(&out, s, res)
	}
	checkSteps(t, filepath.Join(dir, "auth.golden"), out.Bytes(), steps, known)
}

// rootPassword is the password auth.script gives the root user, and never changes.
const rootPassword = "rootpw"

// rootClient is a client that logs in as root once auth is on. Until then the server
// refuses the login, which the client takes as "no token needed"; its first request that
// the server answers with "user name is empty" makes it log in.
func rootClient(t *testing.T, addr string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{addr},
		DialTimeout: time.Second,
		Username:    "root",
		Password:    rootPassword,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// describeAuthProtobuf shows the protobuf output of a user, role or auth command as its
// message in JSON, as describeProtobuf does for the other commands; nil for other commands
// and other formats. `user get --detail` writes its "User: <name>" line and an empty line first, then the
// message of role get for each role: the script gives it users with one role at most.
func describeAuthProtobuf(s step, b []byte) []byte {
	args := s.args
	if !isProtobufStep(s) || len(b) == 0 || len(args) < 2 {
		return nil
	}
	var m interface{ Unmarshal([]byte) error }
	switch args[0] + " " + args[1] {
	case "auth status":
		m = &pb.AuthStatusResponse{}
	case "user add":
		m = &pb.AuthUserAddResponse{}
	case "user delete":
		m = &pb.AuthUserDeleteResponse{}
	case "user get":
		m = &pb.AuthUserGetResponse{}
		if detail, rest, ok := bytes.Cut(b, []byte("\n\n")); ok && bytes.HasPrefix(b, []byte("User: ")) {
			return append(append(detail, '\n', '\n'), describeMessage(&pb.AuthRoleGetResponse{}, rest)...)
		}
	case "user list":
		m = &pb.AuthUserListResponse{}
	case "user passwd":
		m = &pb.AuthUserChangePasswordResponse{}
	case "user grant-role":
		m = &pb.AuthUserGrantRoleResponse{}
	case "user revoke-role":
		m = &pb.AuthUserRevokeRoleResponse{}
	case "role add":
		m = &pb.AuthRoleAddResponse{}
	case "role delete":
		m = &pb.AuthRoleDeleteResponse{}
	case "role get":
		m = &pb.AuthRoleGetResponse{}
	case "role list":
		m = &pb.AuthRoleListResponse{}
	case "role grant-permission":
		m = &pb.AuthRoleGrantPermissionResponse{}
	case "role revoke-permission":
		m = &pb.AuthRoleRevokePermissionResponse{}
	default:
		return nil
	}
	return describeMessage(m, b)
}

// describeMessage decodes b into m and shows it as JSON.
func describeMessage(m interface{ Unmarshal([]byte) error }, b []byte) []byte {
	if err := m.Unmarshal(b); err != nil {
		return []byte(fmt.Sprintf("<%d bytes that do not decode: %v>\n", len(b), err))
	}
	j, err := json.Marshal(m)
	if err != nil {
		return []byte(fmt.Sprintf("<%d bytes: %v>\n", len(b), err))
	}
	return []byte(fmt.Sprintf("<protobuf %T> %s\n", m, j))
}
