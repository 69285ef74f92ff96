// Command larchctl is Larch's command-line client. It speaks etcdctl's language: the same
// commands, flags, ETCDCTL_* environment variables, output formats and exit codes.
//
// ETCDCTL_API selects the command set: "3" or unset is the v3 API (package ctlv3); "2",
// etcd's v2 API, is not supported yet. Like etcdctl 3.6, v3 mode then warns that it does
// not recognise ETCDCTL_API.
package main

import (
	"fmt"
	"os"

	"github.com/larchkv/larch/cmd/larchctl/ctlv3"
)

func main() {
	os.Exit(run(ctlv3.Env{
		Args:    os.Args[1:],
		Environ: os.Environ(),
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
	}))
}

// run picks the command set and returns the exit code.
func run(env ctlv3.Env) int {
	if env.Getenv("ETCDCTL_API") == "2" {
		fmt.Fprintln(env.Stderr, "Error: ETCDCTL_API=2 is not supported yet")
		return 1
	}
	return ctlv3.Run(env)
}
