package clustertest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// FreeAddr returns a loopback address whose port is free now and stays
// free for a member that is stopped and restarted: it is below the range
// the kernel hands out for outgoing connections and for listeners on port
// 0, where a restarting member could find its port taken by a client, and
// it is reserved, until this process exits, against the other test
// binaries that `go test ./...` runs at the same time.
func FreeAddr(t testing.TB) string {
	t.Helper()
	for range 1000 {
		port := lowPortMin + rand.IntN(lowPortMax-lowPortMin)
		if !reserve(port) {
			continue
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue // a process that is not a test has it
		}
		l.Close()
		return addr
	}
	t.Fatal("clustertest: no free port")
	return ""
}

// Ports are drawn from [lowPortMin, lowPortMax), below Linux's default
// ephemeral range (32768-60999).
const (
	lowPortMin = 20000
	lowPortMax = 32000
)

var (
	portsMu sync.Mutex
	// portsUsed are the ports this process tried; portLocks hold the
	// reservations of those it got, open until the process exits.
	portsUsed = map[int]bool{}
	portLocks []*os.File
)

// reserve claims port for this process: once in it, and across processes
// by an exclusive lock on a file named after the port, which the kernel
// drops when the process exits, however it exits.
func reserve(port int) bool {
	portsMu.Lock()
	defer portsMu.Unlock()
	if portsUsed[port] {
		return false
	}
	portsUsed[port] = true
	dir := filepath.Join(os.TempDir(), "larch-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return true // no shared reservations here: this process's own still hold
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return !errors.Is(err, syscall.EWOULDBLOCK)
	}
	portLocks = append(portLocks, f)
	return true
}
